package dev.fanout.core;

import java.time.Duration;
import java.util.Objects;

/**
 * What a {@link Bus} says of itself, for health pages and metrics: its link, why it last went
 * down, how often and how long it was down, messages it dropped because the stream does not hold
 * them, and its snapshot cache.
 *
 * @param link the link's state now
 * @param downReason why the link went down last; null before it ever did
 * @param downs times the link went down since the bus started
 * @param downtime how long the link was down since the bus started, the current outage included
 * @param strayMessages messages received and not delivered because the stream does not hold them
 *     (malformed, forged, from another deployment on the same channel): a rising count means
 *     something else publishes there
 * @param snapshotCache the node-local snapshot cache, {@link SnapshotCacheStats#NONE} without one
 * @param writesRefused why the store refuses writes now though the link is up (a Redis at
 *     {@code maxmemory} with {@code noeviction}, or failing to persist: MISCONF), so publishes
 *     fail while the node keeps serving; null when it takes them, or cannot tell
 */
public record BusStatus(LinkState link, String downReason, long downs, Duration downtime,
    long strayMessages, SnapshotCacheStats snapshotCache, String writesRefused) {

  /** A status with nothing known against writes. */
  public BusStatus(LinkState link, String downReason, long downs, Duration downtime,
      long strayMessages, SnapshotCacheStats snapshotCache) {
    this(link, downReason, downs, downtime, strayMessages, snapshotCache, null);
  }

  public BusStatus {
    Objects.requireNonNull(link, "link");
    Objects.requireNonNull(downtime, "downtime");
    Objects.requireNonNull(snapshotCache, "snapshotCache");
  }

  /** A bus with no link to lose (in memory): always up, never down. */
  public static BusStatus alwaysUp() {
    return new BusStatus(LinkState.UP, null, 0, Duration.ZERO, 0, SnapshotCacheStats.NONE);
  }

  /** A bus that was closed. */
  public static BusStatus closed() {
    return new BusStatus(LinkState.CLOSED, null, 0, Duration.ZERO, 0, SnapshotCacheStats.NONE);
  }
}
