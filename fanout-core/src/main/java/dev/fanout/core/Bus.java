package dev.fanout.core;

/**
 * Carries events between nodes: {@link #publish} on any node reaches the {@link BusListener}s of
 * every node. The in-memory implementation ({@link InMemoryStream}) serves one node; the Redis bus
 * in fanout-redis serves many.
 *
 * <p>Contract for implementations: ids are assigned atomically at publish and are contiguous per
 * epoch; listeners receive events in id order without duplicates. When a bus cannot deliver
 * some events (a gap it cannot fill, a stream that was created afresh), it says so with {@link
 * BusListener#onDiscontinuity} instead of skipping silently.
 */
public interface Bus extends Publisher, AutoCloseable {

  /**
   * Starts delivering events published from now on to {@code listener}, on a thread of the bus.
   *
   * @return a handle whose {@code close()} stops the delivery
   */
  AutoCloseable subscribe(BusListener listener);

  /**
   * The retained past of this bus's stream, for snapshots and resumes; {@link History#none()}
   * (the default) for a bus that retains nothing.
   */
  default History history() {
    return History.none();
  }

  /** What the bus says of itself now; by default always up (a bus with no link to lose). */
  default BusStatus status() {
    return BusStatus.alwaysUp();
  }

  /** Releases the bus's connections and threads; returns promptly. */
  @Override
  void close();
}
