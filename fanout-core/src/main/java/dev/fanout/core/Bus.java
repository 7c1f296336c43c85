package dev.fanout.core;

import java.util.Set;
import java.util.concurrent.CompletableFuture;

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

  /** How the stream is split; by default one partition. */
  default Partitioning partitioning() {
    return Partitioning.single();
  }

  /**
   * The partitions the node's connections need now, replacing what was needed before: a bus
   * that receives per partition (fanout-redis on a cluster) receives exactly these, so a node
   * whose clients follow 10 topics listens to their partitions only. The future completes once
   * each of them is live on this bus (subscribed, its position known and told with {@link
   * BusListener#onPosition}): a catch-up waits for it before reading history, so no event falls
   * between what history gives and what arrives live. By default (a bus that always receives
   * everything) it is already complete.
   */
  default CompletableFuture<Void> need(Set<Integer> partitions) {
    return CompletableFuture.completedFuture(null);
  }

  /** What the bus says of itself now; by default always up (a bus with no link to lose). */
  default BusStatus status() {
    return BusStatus.alwaysUp();
  }

  /** Releases the bus's connections and threads; returns promptly. */
  @Override
  void close();
}
