package dev.fanout.core;

import dev.fanout.core.internal.Scheduler;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.IntConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which partitions of the bus the hub's connections need, and what the bus is told ({@link
 * Bus#need}): a connection counts for the partitions its subscription follows (every one for all
 * topics, else its topics' partitions) from the moment it is indexed until it closes or
 * subscribes to something else. A partition newly needed is asked for at once (a catch-up waits
 * until it is live, {@link #live()}); one no connection needs any more is let go only after
 * {@code dropDelayNanos}, in one call for all that were let go meanwhile, and only if still
 * unneeded then: a client that reconnects at once finds its partitions live, and a burst of
 * closes costs the bus one call. Counting is per connection and idempotent, so a close racing a
 * subscribe never counts twice. Thread-safe: the bus is told under this object's lock, so its
 * calls keep the order of the changes.
 */
final class PartitionNeeds {
  private static final Logger log = LoggerFactory.getLogger(PartitionNeeds.class);

  private final Bus bus;
  private final Partitioning partitioning;
  private final Scheduler scheduler;
  private final long dropDelayNanos;
  private final IntConsumer dropped; // told, under the lock, of each partition let go
  /**
   * What each key is counted for: written under this object's lock, read without it ({@link
   * #of}), because the bus reports a loss with its own locks held, and this lock is held while
   * the bus is told what to receive.
   */
  private final Map<Object, int[]> counted = new ConcurrentHashMap<>();
  // Guarded by this:
  private final int[] refs;
  private final Set<Integer> asked = new TreeSet<>();
  private CompletableFuture<Void> live = CompletableFuture.completedFuture(null);
  private boolean dropScheduled;

  PartitionNeeds(Bus bus, Scheduler scheduler, long dropDelayNanos, IntConsumer dropped) {
    this.bus = bus;
    this.partitioning = bus == null ? Partitioning.single() : bus.partitioning();
    this.scheduler = scheduler;
    this.dropDelayNanos = dropDelayNanos;
    this.dropped = dropped;
    this.refs = new int[partitioning.count()];
  }

  /** The partitions {@code s} follows, ascending. */
  int[] partitionsOf(Subscription s) {
    int count = partitioning.count();
    if (s.allTopics() || count == 1) {
      int[] all = new int[count];
      Arrays.setAll(all, i -> i);
      return all;
    }
    return s.topics().stream().mapToInt(partitioning::partitionOf).distinct().sorted()
        .toArray();
  }

  int count() {
    return partitioning.count();
  }

  /** {@code key} now follows what {@code s} follows (null: nothing), replacing what it did. */
  void set(Object key, Subscription s) {
    int[] now = s == null ? null : partitionsOf(s);
    synchronized (this) {
      int[] before = now == null ? counted.remove(key) : counted.put(key, now);
      boolean more = false;
      if (now != null) {
        for (int p : now) {
          if (refs[p]++ == 0 && !asked.contains(p)) {
            more = true;
          }
        }
      }
      boolean fewer = false;
      if (before != null) {
        for (int p : before) {
          fewer |= --refs[p] == 0;
        }
      }
      if (more) {
        for (int p : now) {
          asked.add(p);
        }
        ask();
      }
      if (fewer && !dropScheduled && bus != null) {
        dropScheduled = true;
        try {
          scheduler.schedule(this::dropUnneeded, dropDelayNanos);
        } catch (RejectedExecutionException closing) {
          dropScheduled = false; // the hub is closing: nothing to let go of
        }
      }
    }
  }

  /** The partitions {@code key} is counted for, or null when none. Takes no lock. */
  int[] of(Object key) {
    return counted.get(key);
  }

  /** Completes once every partition asked for so far is live on the bus. */
  synchronized CompletableFuture<Void> live() {
    return live;
  }

  /** The partitions the bus was last told (for tests). */
  synchronized Set<Integer> asked() {
    return Set.copyOf(asked);
  }

  private synchronized void dropUnneeded() {
    dropScheduled = false;
    int before = asked.size();
    int[] gone = asked.stream().mapToInt(Integer::intValue).filter(p -> refs[p] == 0)
        .toArray();
    for (int p : gone) {
      asked.remove(p);
    }
    if (asked.size() != before) {
      ask();
      for (int p : gone) {
        dropped.accept(p);
      }
    }
  }

  private void ask() {
    if (bus == null) {
      return;
    }
    try {
      live = bus.need(Set.copyOf(asked));
    } catch (RuntimeException e) {
      log.warn("the bus refused the partitions {}", asked, e);
      live = CompletableFuture.failedFuture(e);
    }
  }
}
