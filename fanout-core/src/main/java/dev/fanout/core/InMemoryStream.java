package dev.fanout.core;

import dev.fanout.core.internal.BusListeners;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;

/**
 * A single-node event stream: a {@link Bus} and a {@link History} over one bounded ring. The
 * embedded default and the workhorse of tests.
 *
 * <p>{@link #publish} assigns the next contiguous id, retains the event and hands it to every
 * listener, all under one lock, so concurrent publishers still produce one total order. Listeners
 * are called on the publisher's thread; the hub only queues, so this does not block for long.
 * The epoch is random per instance and changes on {@link #reset}.
 *
 * <p>{@link #partitioned} makes a stream of several partitions, as fanout-redis has on Redis
 * Cluster, so that what sits above a bus (the hub's partition rules) is tested without Redis:
 * a topic's partition is a hash of the topic, each partition has its own ring, epoch and sequence
 * (ids {@code <partition>.<epoch>:<seq>}), listeners receive only the partitions {@link #need}
 * names (each told where it starts when it is needed again), a snapshot is the newest events by
 * publish order over the partitions followed, and a resume is exact in every partition or
 * recovered in none.
 */
public final class InMemoryStream implements Bus, History {
  /** Default number of events retained. */
  public static final int DEFAULT_RETENTION = 10_000;

  private final Part[] parts;
  private final int maxScan;
  private final Partitioning partitioning;
  private final BusListeners listeners = new BusListeners();
  private final Set<Integer> needed = new TreeSet<>(); // guarded by this; partitioned only
  private long published; // guarded by this: the publish order over every partition

  /** One partition: its ring, epoch and sequence. Guarded by the stream. */
  private static final class Part {
    final int index; // -1: the stream's only one, whose ids name no partition
    final Event[] ring;
    final long[] order; // per slot: when it was published, over every partition
    String epoch = EventId.newEpoch();
    long lastSeq;

    Part(int index, int retention) {
      this.index = index;
      this.ring = new Event[retention];
      this.order = new long[retention];
    }

    EventId id(long seq) {
      return index < 0 ? EventId.of(epoch, seq) : EventId.of(index, epoch, seq);
    }

    EventId top() {
      return lastSeq == 0 ? null : id(lastSeq);
    }

    long oldestSeq() {
      return Math.max(1, lastSeq - ring.length + 1);
    }

    int slot(long seq) {
      return (int) (seq % ring.length);
    }

    void reset() {
      epoch = EventId.newEpoch();
      lastSeq = 0;
      Arrays.fill(ring, null);
    }
  }

  private InMemoryStream(int partitions, int retention, int maxScan) {
    this.parts = new Part[partitions];
    for (int i = 0; i < partitions; i++) {
      parts[i] = new Part(partitions == 1 ? -1 : i, retention);
    }
    this.maxScan = maxScan;
    this.partitioning = partitions == 1 ? Partitioning.single() : new HashPartitioning(partitions);
  }

  /** A stream retaining the last {@value #DEFAULT_RETENTION} events. */
  public static InMemoryStream create() {
    return create(DEFAULT_RETENTION);
  }

  /** A stream retaining the last {@code retention} events; snapshots scan all of them. */
  public static InMemoryStream create(int retention) {
    return create(retention, retention);
  }

  /**
   * A stream retaining the last {@code retention} events, whose snapshots scan at most {@code
   * maxScan} of them.
   */
  public static InMemoryStream create(int retention, int maxScan) {
    return partitioned(1, retention, maxScan);
  }

  /**
   * A stream of {@code partitions} partitions (1: the plain stream of {@link #create(int, int)}),
   * each retaining its last {@code retention} events, whose snapshots scan at most {@code
   * maxScan} of each. Its listeners receive only the partitions {@link #need} names.
   */
  public static InMemoryStream partitioned(int partitions, int retention, int maxScan) {
    if (partitions < 1 || partitions > EventId.MAX_PARTITIONS) {
      throw new IllegalArgumentException("partitions must be 1 to " + EventId.MAX_PARTITIONS
          + ", got " + partitions);
    }
    if (retention < 1) {
      throw new IllegalArgumentException("retention must be at least 1, got " + retention);
    }
    if (maxScan < 1) {
      throw new IllegalArgumentException("max scan must be at least 1, got " + maxScan);
    }
    return new InMemoryStream(partitions, retention, maxScan);
  }

  @Override
  public Partitioning partitioning() {
    return partitioning;
  }

  @Override
  public synchronized EventId publish(String topic, Map<String, String> attributes, String data) {
    if (data != null && !JsonText.isOneValue(data)) {
      throw new IllegalArgumentException("event data must be one JSON value, got '"
          + (data.length() > 40 ? data.substring(0, 40) + "..." : data) + "'");
    }
    int p = partitioning.partitionOf(topic);
    Part part = parts[p];
    Event event = Event.of(part.id(part.lastSeq + 1), topic, attributes, data,
        System.currentTimeMillis());
    part.lastSeq++;
    part.ring[part.slot(part.lastSeq)] = event;
    part.order[part.slot(part.lastSeq)] = ++published;
    if (receives(p)) {
      listeners.event(event);
    }
    return event.id();
  }

  private boolean receives(int partition) {
    return parts.length == 1 || needed.contains(partition);
  }

  @Override
  public AutoCloseable subscribe(BusListener listener) {
    List<EventId> tops = new ArrayList<>();
    AutoCloseable handle;
    synchronized (this) {
      handle = listeners.add(listener);
      for (int p = 0; p < parts.length; p++) {
        if (receives(p) && parts[p].top() != null) {
          tops.add(parts[p].top());
        }
      }
    }
    tops.forEach(listener::onPosition);
    return handle;
  }

  /**
   * {@inheritDoc}
   *
   * <p>Partitioned: listeners receive exactly these partitions from now on; each newly needed one
   * is told where it starts ({@link BusListener#onPosition}) before this returns, complete.
   */
  @Override
  public synchronized CompletableFuture<Void> need(Set<Integer> partitions) {
    for (int p : partitions) {
      if (p < 0 || p >= parts.length) {
        throw new IllegalArgumentException("partition " + p + " does not exist: the stream has "
            + parts.length);
      }
    }
    if (parts.length > 1) {
      for (int p : partitions) {
        if (!needed.contains(p) && parts[p].top() != null) {
          listeners.position(parts[p].top());
        }
      }
      needed.clear();
      needed.addAll(partitions);
    }
    return CompletableFuture.completedFuture(null);
  }

  /** The partitions listeners receive now (partitioned streams; for tests). */
  synchronized Set<Integer> needed() {
    return Set.copyOf(needed);
  }

  /**
   * Forgets everything and starts a new epoch in every partition, as a Redis that lost its data
   * would; listeners are told of the discontinuity.
   */
  public void reset() {
    synchronized (this) {
      for (Part part : parts) {
        part.reset();
      }
    }
    listeners.discontinuity("in-memory stream reset to a new epoch");
  }

  /**
   * Forgets one partition and starts it on a new epoch, as a failover of the Redis primary that
   * holds it would; listeners that receive it are told of the discontinuity of that partition.
   */
  public void reset(int partition) {
    boolean tell;
    synchronized (this) {
      parts[partition].reset();
      tell = receives(partition);
    }
    if (tell) {
      if (parts.length == 1) {
        listeners.discontinuity("in-memory stream reset to a new epoch");
      } else {
        listeners.discontinuity(partition, "partition " + partition + " reset to a new epoch");
      }
    }
  }

  /** The current epoch (of the first partition). */
  public synchronized String epoch() {
    return parts[0].epoch;
  }

  /** The id of the newest event (of the first partition), or null when empty. */
  synchronized EventId lastId() {
    return parts[0].top();
  }

  @Override
  public synchronized List<Event> latest(int limit, Subscription subscription) {
    if (parts.length == 1) {
      List<Event> out = new ArrayList<>(Math.min(limit, 64));
      latest(parts[0], limit, subscription, out, null);
      Collections.reverse(out);
      return out;
    }
    List<Event> all = new ArrayList<>();
    List<Long> orders = new ArrayList<>();
    for (int p : followed(subscription)) {
      latest(parts[p], limit, subscription, all, orders);
    }
    Integer[] byOrder = new Integer[all.size()];
    Arrays.setAll(byOrder, i -> i);
    Arrays.sort(byOrder, Comparator.comparing(orders::get));
    List<Event> out = new ArrayList<>();
    for (int i = Math.max(0, byOrder.length - limit); i < byOrder.length; i++) {
      out.add(all.get(byOrder[i]));
    }
    return out;
  }

  /** The newest {@code limit} matching events of {@code part}, newest first. */
  private void latest(Part part, int limit, Subscription subscription, List<Event> out,
      List<Long> orders) {
    long stop = Math.max(part.oldestSeq(), part.lastSeq - maxScan + 1);
    int found = 0;
    for (long seq = part.lastSeq; seq >= stop && found < limit; seq--) {
      Event e = part.ring[part.slot(seq)];
      if (subscription.matches(e)) {
        out.add(e);
        found++;
        if (orders != null) {
          orders.add(part.order[part.slot(seq)]);
        }
      }
    }
  }

  private int[] followed(Subscription s) {
    if (s.allTopics()) {
      int[] all = new int[parts.length];
      Arrays.setAll(all, i -> i);
      return all;
    }
    return s.topics().stream().mapToInt(partitioning::partitionOf).distinct().sorted()
        .toArray();
  }

  @Override
  public synchronized Recovery since(EventId after, Subscription subscription) {
    if (parts.length > 1) {
      return since(Cursor.of(after), subscription);
    }
    if (after.isPartitioned()) {
      return Recovery.notRecovered(Recovery.Reason.UNKNOWN_ID,
          "id " + after + " names a partition; this stream has one");
    }
    List<Event> out = new ArrayList<>();
    Recovery r = since(parts[0], after, subscription, out);
    return r != null ? r : Recovery.recovered(out);
  }

  /**
   * {@inheritDoc}
   *
   * <p>Partitioned: each partition the subscription follows is read after the id the cursor
   * names for it, or from its first event when it names none and nothing of it was trimmed;
   * more than the retention missed over all of them is not recovered. The events come partition
   * by partition, each oldest first.
   */
  @Override
  public synchronized Recovery since(Cursor after, Subscription subscription) {
    if (parts.length == 1) {
      return after.size() == 1 ? since(after.single(), subscription)
          : Recovery.notRecovered(Recovery.Reason.UNKNOWN_ID, "position " + after + " names "
              + after.size() + " partitions; this stream has one");
    }
    for (EventId id : after.ids()) {
      if (!id.isPartitioned() || id.partition() >= parts.length) {
        return Recovery.notRecovered(Recovery.Reason.UNKNOWN_ID, "position " + after
            + " does not name partitions of this stream, which has " + parts.length);
      }
    }
    List<Event> out = new ArrayList<>();
    long missed = 0;
    for (int p : followed(subscription)) {
      Part part = parts[p];
      EventId id = after.get(p);
      if (id == null) {
        if (part.oldestSeq() > 1) {
          return Recovery.notRecovered(Recovery.Reason.TRIMMED, "position " + after
              + " names no id of partition " + p + ", whose first events were trimmed");
        }
        id = part.lastSeq == 0 ? null : part.id(1);
        missed += part.lastSeq;
        if (id != null) {
          Event first = part.ring[part.slot(1)];
          if (subscription.matches(first)) {
            out.add(first);
          }
        }
      } else {
        missed += Math.max(0, part.lastSeq - id.seq());
      }
      if (id != null) {
        Recovery r = since(part, id, subscription, out);
        if (r != null) {
          return r;
        }
      }
    }
    if (missed > recoveryLimit()) {
      return Recovery.notRecovered(Recovery.Reason.TOO_MANY, missed + " events were missed "
          + "after " + after + "; at most " + recoveryLimit() + " are replayed");
    }
    return Recovery.recovered(out);
  }

  /** Adds the matching events of {@code part} after {@code after}; null, or why it cannot. */
  private Recovery since(Part part, EventId after, Subscription subscription, List<Event> out) {
    if (!after.epoch().equals(part.epoch)) {
      return Recovery.notRecovered(Recovery.Reason.OTHER_EPOCH,
          "id " + after + " is not of the current epoch " + part.epoch);
    }
    if (after.seq() > part.lastSeq) {
      return Recovery.notRecovered(Recovery.Reason.UNKNOWN_ID,
          "id " + after + " is beyond the newest event " + part.lastSeq);
    }
    if (after.seq() < part.oldestSeq() - 1) {
      return Recovery.notRecovered(Recovery.Reason.TRIMMED,
          "events after " + after + " were trimmed; the oldest retained is " + part.oldestSeq());
    }
    for (long seq = after.seq() + 1; seq <= part.lastSeq; seq++) {
      Event e = part.ring[part.slot(seq)];
      if (subscription.matches(e)) {
        out.add(e);
      }
    }
    return null;
  }

  /** Resumes that missed more than the retention (of a partition) find their events trimmed. */
  @Override
  public long recoveryLimit() {
    return parts[0].ring.length;
  }

  /** This stream: it is its own history. */
  @Override
  public History history() {
    return this;
  }

  /** Removes every listener. */
  @Override
  public void close() {
    listeners.clear();
  }

  /** A topic's partition: a stable hash of it. */
  private record HashPartitioning(int count) implements Partitioning {
    @Override
    public int partitionOf(String topic) {
      return Math.floorMod(topic.hashCode(), count);
    }
  }
}
