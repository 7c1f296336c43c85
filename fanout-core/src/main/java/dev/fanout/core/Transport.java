package dev.fanout.core;

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

  /** Closes the connection with a WebSocket close code and reason. Must not block for long. */
  void close(int code, String reason);

  /** Completion of one {@link #send}. */
  @FunctionalInterface
  interface SendCallback {
    /** @param failure null when the frame was written */
    void completed(Throwable failure);
  }
}
