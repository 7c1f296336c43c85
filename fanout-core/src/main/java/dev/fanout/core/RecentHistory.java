package dev.fanout.core;

import java.util.ArrayList;
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
 */
final class RecentHistory implements History {
  private final History store;
  private final Event[] ring;
  private final long limit; // the most missed events a resume from memory may replay
  private final FanoutMetrics metrics;
  private String epoch; // of the window; null when empty. Guarded by this
  private long first; // the oldest seq held
  private long last; // the newest seq held

  RecentHistory(History store, int capacity, FanoutMetrics metrics) {
    this.store = Objects.requireNonNull(store, "store");
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity must be at least 1, got " + capacity);
    }
    this.ring = new Event[capacity];
    this.limit = Math.min(capacity, store.recoveryLimit());
    this.metrics = metrics;
  }

  /** Every event the hub routes, in order; a gap or another epoch starts the window afresh. */
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

  /** The bus lost events: what the window holds may no longer be the store's. */
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

  /** Events held now (for metrics and tests). */
  synchronized int size() {
    return epoch == null ? 0 : (int) (last - first + 1);
  }

  @Override
  public List<Event> latest(int limit, Subscription subscription) {
    return store.latest(limit, subscription);
  }

  @Override
  public Recovery since(EventId after, Subscription subscription) {
    Event[] missed = missedAfter(after);
    metrics.resumeRead(missed != null);
    if (missed == null) {
      return store.since(after, subscription);
    }
    List<Event> out = new ArrayList<>();
    for (Event e : missed) { // outside the lock: a consumer's filter may be slow
      if (subscription.matches(e)) {
        out.add(e);
      }
    }
    return Recovery.recovered(out);
  }

  /** Every event after {@code after}, when the window holds them all; else null. */
  private synchronized Event[] missedAfter(EventId after) {
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

  @Override
  public long recoveryLimit() {
    return store.recoveryLimit();
  }

  private int slot(long seq) {
    return (int) (seq % ring.length);
  }
}
