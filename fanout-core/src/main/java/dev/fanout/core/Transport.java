package dev.fanout.core;

import java.util.List;

/**
 * The socket side of one connection, implemented by a WebSocket adapter (fanout-jakarta) or by
 * {@link InMemoryTransport} in tests. The hub never has more than one send in flight per
 * transport and waits for its completion before the next, which is what lets backpressure work.
 */
public interface Transport {

  /**
   * Starts sending one text frame. The transport must call {@code done} exactly once, from any
   * thread, possibly before this method returns: with null on success or with the failure.
   */
  void send(String frame, SendCallback done);

  /**
   * Starts sending several frames at once, in order, as separate WebSocket frames with one
   * completion for all of them (same contract as {@link #send}), if this transport can write them
   * together, and returns true; returns false, without calling {@code done}, when it cannot.
   *
   * <p>A hot connection's queued events go out together. By default (false) the outbox joins
   * them into one {@code batch} frame, built for this connection. A transport that writes
   * pre-encoded frames with one gather write (fanout-netty) overrides this: each event's frame
   * is then the one encoded for every recipient, and nothing is built per connection. The list
   * holds at least two frames and may be reused once this returns.
   */
  default boolean sendAll(List<String> frames, SendCallback done) {
    return false;
  }

  /** Closes the connection with a WebSocket close code and reason. Must not block for long. */
  void close(int code, String reason);

  /** Completion of one {@link #send}. */
  @FunctionalInterface
  interface SendCallback {
    /** @param failure null when the frame was written */
    void completed(Throwable failure);
  }
}
