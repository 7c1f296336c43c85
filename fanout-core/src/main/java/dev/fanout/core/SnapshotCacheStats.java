package dev.fanout.core;

/**
 * A node-local snapshot cache's sizes and counters: topics and events held, their approximate
 * bytes, snapshots answered from memory ({@code hits}) or from the store ({@code misses}), topic
 * reads ({@code fills}) and snapshots that waited for another's read of the same topic ({@code
 * waits}). All zero where there is no cache.
 */
public record SnapshotCacheStats(long topics, long events, long bytes, long hits, long misses,
    long fills, long waits) {

  /** No cache. */
  public static final SnapshotCacheStats NONE = new SnapshotCacheStats(0, 0, 0, 0, 0, 0, 0);
}
