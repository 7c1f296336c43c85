package dev.fanout.core;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * The hub's history: the store's (Redis, or an in-memory stream), with the node's own recent
 * past in front of it for resumes. The node routes every event in order, gap filled, so the last
 * {@code capacity} events it routed since its bus last reported a discontinuity are exactly the
 * store's events with those ids. A resume whose {@code lastEventId} falls in that window is
 * answered from memory with the same answer the store would give; any other resume, and every
 * snapshot, goes to the store. A reconnect storm (a deploy, a load balancer failover) then costs
 * the store nothing for the clients this node just had.
 *
 * <p>Exactness: the window holds a contiguous run of one epoch, from {@code first} to {@code
 * last}. A resume after id {@code e:s} is answered here only when {@code e} is the window's epoch
 * and {@code first - 1 <= s <= last} (every event after {@code s} up to {@code last} is held),
 * and when at most {@link History#recoveryLimit()} events were missed (beyond it the store says
 * not recovered, and so must this). Events the node has not routed yet (the store's newer ones)
 * reach the client live, behind the answer, as they would behind the store's. A discontinuity,
 * a gap or an epoch change empties the window. {@code RecentHistoryTest} compares the answers
 * with the store's over random histories.
 *
 * <p>A partitioned stream has one window per partition (the capacity shared among them), each
 * the rule above for its partition. A resume from a {@link Cursor} is answered here only when
 * the cursor names every partition the subscription follows, each window holds everything after
 * its id, and at most {@link History#recoveryLimit()} events were missed over all of them; else
 * the store answers, all or nothing. The events come partition by partition, as the store's do.
 */
final class RecentHistory implements History {
  private final History store;
  private final Partitioning partitioning;
  private final Window[] windows;
  private final long limit; // the most missed events a resume from memory may replay
  private final FanoutMetrics metrics;

  RecentHistory(History store, int capacity, FanoutMetrics metrics) {
    this(store, capacity, metrics, Partitioning.single());
  }

  RecentHistory(History store, int capacity, FanoutMetrics metrics, Partitioning partitioning) {
    this.store = Objects.requireNonNull(store, "store");
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity must be at least 1, got " + capacity);
    }
    this.partitioning = partitioning;
    this.windows = new Window[partitioning.count()];
    int each = Math.max(1, capacity / windows.length);
    for (int i = 0; i < windows.length; i++) {
      windows[i] = new Window(each);
    }
    this.limit = Math.min(capacity, store.recoveryLimit());
    this.metrics = metrics;
  }

  /** Every event the hub routes, in order; a gap or another epoch starts its window afresh. */
  void add(Event event) {
    Window w = window(event.id().partition());
    if (w != null) {
      w.add(event);
    }
  }

  /** The bus lost events: what the windows hold may no longer be the store's. */
  void clear() {
    for (Window w : windows) {
      w.clear();
    }
  }

  /** The bus lost events of one partition, or stopped receiving it. */
  void clear(int partition) {
    Window w = window(partition);
    if (w != null) {
      w.clear();
    }
  }

  /** Events held now (for metrics and tests). */
  int size() {
    int n = 0;
    for (Window w : windows) {
      n += w.size();
    }
    return n;
  }

  private Window window(int partition) {
    return partition < windows.length ? windows[partition] : null;
  }

  @Override
  public List<Event> latest(int limit, Subscription subscription) {
    return store.latest(limit, subscription);
  }

  @Override
  public Recovery since(EventId after, Subscription subscription) {
    Window w = window(after.partition());
    Event[] missed = w == null ? null : w.missedAfter(after, limit);
    metrics.resumeRead(missed != null);
    if (missed == null) {
      return store.since(after, subscription);
    }
    List<Event> out = new ArrayList<>();
    matching(missed, subscription, out);
    return Recovery.recovered(out);
  }

  @Override
  public Recovery since(Cursor after, Subscription subscription) {
    if (windows.length == 1 && after.size() == 1) {
      return since(after.single(), subscription);
    }
    List<Event[]> parts = new ArrayList<>();
    long missedTotal = 0;
    for (int p : followed(subscription)) {
      EventId id = after.get(p);
      Window w = window(p);
      Event[] missed = id == null || w == null ? null : w.missedAfter(id, limit);
      if (missed == null) {
        parts = null;
        break;
      }
      missedTotal += missed.length;
      parts.add(missed);
    }
    boolean hit = parts != null && missedTotal <= limit;
    metrics.resumeRead(hit);
    if (!hit) {
      return store.since(after, subscription);
    }
    List<Event> out = new ArrayList<>();
    for (Event[] missed : parts) {
      matching(missed, subscription, out);
    }
    return Recovery.recovered(out);
  }

  private int[] followed(Subscription s) {
    if (s.allTopics()) {
      int[] all = new int[windows.length];
      Arrays.setAll(all, i -> i);
      return all;
    }
    return s.topics().stream().mapToInt(partitioning::partitionOf).distinct().sorted()
        .toArray();
  }

  private static void matching(Event[] events, Subscription subscription, List<Event> out) {
    for (Event e : events) { // outside the lock: a consumer's filter may be slow
      if (subscription.matches(e)) {
        out.add(e);
      }
    }
  }

  @Override
  public long recoveryLimit() {
    return store.recoveryLimit();
  }

  /** The recent past of one partition: a contiguous run of one epoch. */
  private static final class Window {
    private final Event[] ring;
    private String epoch; // of the window; null when empty. Guarded by this
    private long first; // the oldest seq held
    private long last; // the newest seq held

    Window(int capacity) {
      this.ring = new Event[capacity];
    }

    synchronized void add(Event event) {
      EventId id = event.id();
      if (epoch == null || !id.epoch().equals(epoch) || id.seq() != last + 1) {
        clearLocked();
        epoch = id.epoch();
        first = id.seq();
      }
      last = id.seq();
      ring[slot(last)] = event;
      if (last - first + 1 > ring.length) {
        first = last - ring.length + 1;
      }
    }

    synchronized void clear() {
      clearLocked();
    }

    private void clearLocked() {
      if (epoch != null) {
        for (long s = first; s <= last; s++) {
          ring[slot(s)] = null;
        }
      }
      epoch = null;
    }

    synchronized int size() {
      return epoch == null ? 0 : (int) (last - first + 1);
    }

    /** Every event after {@code after}, when the window holds them all; else null. */
    synchronized Event[] missedAfter(EventId after, long limit) {
      if (epoch == null || !after.epoch().equals(epoch) || after.seq() < first - 1
          || after.seq() > last || last - after.seq() > limit) {
        return null;
      }
      Event[] out = new Event[(int) (last - after.seq())];
      for (int i = 0; i < out.length; i++) {
        out[i] = ring[slot(after.seq() + 1 + i)];
      }
      return out;
    }

    private int slot(long seq) {
      return (int) (seq % ring.length);
    }
  }
}
