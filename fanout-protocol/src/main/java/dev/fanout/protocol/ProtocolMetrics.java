package dev.fanout.protocol;

/**
 * What a {@link FanoutNode} reports as it happens, for a metrics library (fanout-micrometer
 * implements it). Called on handshake and socket threads: keep it quick. Every method has a
 * no-op default; an exception thrown here is logged and ignored.
 */
public interface ProtocolMetrics {

  /** A handshake was refused with an HTTP {@code status} (401, 403, 426, 503) and reason. */
  default void handshakeRefused(int status, String reason) {}

  /** An admitted connection closed with {@code code} (1000, 1001, 1006, 4001...), either side. */
  default void connectionClosed(int code) {}
}
