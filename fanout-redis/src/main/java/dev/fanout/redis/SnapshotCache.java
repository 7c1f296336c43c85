package dev.fanout.redis;

import dev.fanout.core.Event;
import dev.fanout.core.SnapshotCacheStats;
import dev.fanout.core.Subscription;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.LongAdder;

/**
 * Snapshots from the node's memory, with the answer {@link RedisHistory#latest} would read from
 * Redis. The bus hands it every event it delivers, in order, before the hub routes it; it keeps
 * the last {@code maxScan} events of the stream (the window) and, for each topic a snapshot asked
 * for, that topic's newest {@code perTopic} events. A topic nobody asked for is not kept; the
 * first snapshot of a topic reads its newest entries from Redis once (one {@code XREVRANGE}),
 * shared by every snapshot that needs the topic meanwhile (single flight), and from then on the
 * bus keeps it current. A connect storm then costs Redis one read per topic, not one per client.
 *
 * <p>Exactness. Redis scans a topic's stream (at most {@code maxTopicReads} named topics) or the
 * whole stream, newest first, until it has {@code limit} matching events or has scanned {@code
 * maxScan} entries or reaches the stream's oldest entry. The cache walks what it holds the same
 * way and answers only when its walk ends where Redis's would:
 *
 * <ul>
 *   <li>What it holds is contiguous: a topic holds every event of the topic from its oldest held
 *       one on (the fill read the newest entries at some instant; events of the topic the bus
 *       delivered since the fill began are merged by sequence number, the rest arrive later and
 *       are appended), and the window every event from its oldest on. A gap in what the bus
 *       delivers, a discontinuity, or the link going down empties the cache.
 *   <li>The walk stops on {@code limit} or {@code maxScan} inside what is held, or reaches the
 *       topic's oldest event when the fill read fewer entries than it asked for (the topic's
 *       stream held nothing older; the window: its oldest is the stream's first, seq 1).
 *   <li>Every event the walk passes is still in Redis. Redis trims by {@code MAXLEN ~} (the stream)
 *       and {@code MINID ~} (a topic's stream, only when that topic is published to): a trim keeps
 *       every entry within the retention of the event that triggered it and may or may not remove
 *       older ones. So the walk gives up (and Redis answers) when it reaches an event that a trim
 *       since the fill may have removed: below {@code seq - retention + 1} of the newest event of
 *       the topic seen since the fill (the window: of the newest event).
 * </ul>
 *
 * <p>The answer is Redis's answer at the instant the node had delivered its newest event; events
 * Redis holds that the node has not delivered yet reach the client live, behind the snapshot.
 * The retention is this node's: a publisher with a shorter one trims more than the cache knows
 * (the same assumption as resumes). {@code SnapshotCacheIntegrationTest} compares the answers with
 * Redis's over random histories. Memory: the topics kept are bounded by {@code maxBytes}
 * (approximate sizes of their events), least recently asked for dropped first.
 */
final class SnapshotCache {

  /** Reads the newest {@code count} entries of a topic's stream, newest first. */
  interface TopicReader {
    /** @throws FanoutRedisException when Redis cannot answer */
    List<Event> newest(String topic, int count);
  }

  private static final List<Event> REFILL = Collections.unmodifiableList(new ArrayList<>());
  private static final List<Event> NO_ANSWER = Collections.unmodifiableList(new ArrayList<>());

  private final int perTopic;
  private final long maxBytes;
  private final int maxScan;
  private final int maxTopicReads;
  private final long retention;
  private final TopicReader reader;
  private final Event[] window; // the last delivered events, by seq modulo its length
  private final Map<String, Topic> topics = new LinkedHashMap<>(); // least recently asked first
  private final Map<String, Fill> fills = new HashMap<>();
  private final LongAdder hits = new LongAdder();
  private final LongAdder misses = new LongAdder();
  private final LongAdder reads = new LongAdder();
  private final LongAdder waits = new LongAdder();
  // Guarded by this:
  private long generation; // bumped when everything is forgotten: fills begun before do not land
  private long first; // the window's oldest seq
  private long last; // the window's newest seq; the window is empty when first > last
  private long heldEvents;
  private long bytes;

  SnapshotCache(int perTopic, long maxBytes, int maxScan, int maxTopicReads, long retention,
      TopicReader reader) {
    if (perTopic < 1) {
      throw new IllegalArgumentException("events per topic must be at least 1, got " + perTopic);
    }
    if (maxBytes < 1) {
      throw new IllegalArgumentException("cache bytes must be at least 1, got " + maxBytes);
    }
    this.perTopic = perTopic;
    this.maxBytes = maxBytes;
    this.maxScan = maxScan;
    this.maxTopicReads = maxTopicReads;
    this.retention = retention;
    this.reader = reader;
    this.window = new Event[maxScan];
    this.first = 1;
    this.last = 0;
  }

  /** The next event the bus delivers, before the hub routes it. Cheap: never reads Redis. */
  synchronized void add(Event event) {
    long seq = event.id().seq();
    if (first <= last && seq != last + 1) {
      forgetLocked(); // never happens without a discontinuity; be safe
    }
    if (first > last) {
      first = seq;
    }
    last = seq;
    window[(int) (seq % window.length)] = event;
    if (last - first + 1 > window.length) {
      first = last - window.length + 1;
    }
    Topic topic = topics.get(event.topic());
    if (topic != null) {
      append(topic, event);
      enforceBytes();
    }
    Fill fill = fills.get(event.topic());
    if (fill != null) {
      fill.delivered.add(event);
    }
  }

  /** What was delivered may no longer be Redis's (a discontinuity, the link went down). */
  synchronized void forget() {
    forgetLocked();
  }

  private void forgetLocked() {
    generation++;
    Arrays.fill(window, null);
    first = 1;
    last = 0;
    topics.clear();
    heldEvents = 0;
    bytes = 0;
  }

  /**
   * The snapshot Redis would give, or null when the cache cannot be sure of it (then read Redis).
   *
   * @throws FanoutRedisException when a topic's fill cannot read Redis
   */
  List<Event> latest(int limit, Subscription subscription) {
    List<Event> out = subscription.allTopics() || subscription.topics().size() > maxTopicReads
        ? fromWindow(limit, subscription) : fromTopics(limit, subscription);
    (out == null ? misses : hits).increment();
    return out;
  }

  private List<Event> fromTopics(int limit, Subscription subscription) {
    List<Event> out = new ArrayList<>();
    for (String name : subscription.topics()) {
      Topic seen;
      synchronized (this) {
        seen = topics.get(name);
      }
      List<Event> part = fromTopic(name, limit, subscription);
      if (part == REFILL) {
        fill(name, seen);
        part = fromTopic(name, limit, subscription);
      }
      if (part == REFILL || part == NO_ANSWER) {
        return null;
      }
      out.addAll(part);
    }
    out.sort(Comparator.comparingLong(e -> e.id().seq()));
    return out.size() <= limit ? out : new ArrayList<>(out.subList(out.size() - limit, out.size()));
  }

  /** One topic's part, as Redis scans its topic stream; REFILL or NO_ANSWER when not sure. */
  private List<Event> fromTopic(String name, int limit, Subscription subscription) {
    Event[] held;
    boolean complete;
    long trimBelow;
    synchronized (this) {
      Topic topic = topics.remove(name);
      if (topic == null) {
        return REFILL;
      }
      topics.put(name, topic); // most recently asked for
      held = topic.events.toArray(new Event[0]);
      complete = topic.complete;
      trimBelow = topic.trimBelow;
    }
    List<Event> out = new ArrayList<>();
    int scanned = 0;
    for (int i = held.length - 1; i >= 0; i--) { // outside the lock: a filter may be slow
      Event e = held[i];
      if (e.id().seq() < trimBelow) {
        return REFILL; // Redis may or may not hold it still: read what it holds now
      }
      if (scanOne(e, subscription, out, limit, ++scanned)) {
        Collections.reverse(out);
        return out;
      }
    }
    if (!complete) {
      return NO_ANSWER; // Redis holds older events of the topic than this node keeps
    }
    Collections.reverse(out);
    return out;
  }

  /** The whole stream's newest events, as Redis scans them; null when not sure. */
  private List<Event> fromWindow(int limit, Subscription subscription) {
    Event[] held;
    long oldest;
    long kept;
    synchronized (this) {
      if (first > last) {
        return null;
      }
      oldest = first;
      kept = last - retention + 1; // MAXLEN ~ keeps at least the newest retention entries
      held = new Event[(int) (last - first + 1)];
      for (int i = 0; i < held.length; i++) {
        held[i] = window[(int) ((first + i) % window.length)];
      }
    }
    List<Event> out = new ArrayList<>();
    int scanned = 0;
    for (int i = held.length - 1; i >= 0; i--) {
      Event e = held[i];
      if (e.id().seq() < kept) {
        return null;
      }
      if (scanOne(e, subscription, out, limit, ++scanned)) {
        Collections.reverse(out);
        return out;
      }
    }
    if (oldest != 1) {
      return null; // Redis holds older entries than the window
    }
    Collections.reverse(out);
    return out;
  }

  /** Redis's scan, one entry: true when it stops after this one (limit found, or maxScan). */
  private boolean scanOne(Event e, Subscription subscription, List<Event> out, int limit,
      int scanned) {
    if (subscription.matches(e)) {
      out.add(e);
    }
    return out.size() == limit || scanned == maxScan;
  }

  /**
   * Reads a topic's newest events once for every snapshot that needs them now. {@code seen} is
   * what the cache held for the topic when the caller found it wanting: if another fill has
   * installed something else since, that is the answer to look at, not a reason to read again.
   */
  private void fill(String name, Topic seen) {
    Fill fill;
    boolean mine = false;
    synchronized (this) {
      fill = fills.get(name);
      if (fill == null && topics.get(name) != seen) {
        return; // a fill finished between the caller's look and now
      }
      if (fill == null) {
        fill = new Fill(generation);
        fills.put(name, fill);
        mine = true;
      }
    }
    if (!mine) {
      waits.increment();
      try {
        fill.done.join();
      } catch (CompletionException e) {
        throw e.getCause() instanceof RuntimeException r ? r : e;
      }
      return;
    }
    try {
      List<Event> newestFirst = reader.newest(name, perTopic);
      reads.increment();
      synchronized (this) {
        fills.remove(name);
        if (fill.generation == generation) {
          install(name, newestFirst, fill.delivered);
        }
      }
      fill.done.complete(null);
    } catch (RuntimeException e) {
      synchronized (this) {
        fills.remove(name);
      }
      fill.done.completeExceptionally(e);
      throw e;
    }
  }

  private void install(String name, List<Event> newestFirst, List<Event> deliveredSince) {
    Topic old = topics.remove(name);
    if (old != null) {
      heldEvents -= old.events.size();
      bytes -= old.bytes;
    }
    Topic topic = new Topic();
    topic.complete = newestFirst.size() < perTopic;
    for (int i = newestFirst.size() - 1; i >= 0; i--) {
      Event e = newestFirst.get(i);
      topic.events.addLast(e);
      topic.bytes += size(e);
    }
    topic.newest = newestFirst.isEmpty() ? 0 : newestFirst.get(0).id().seq();
    heldEvents += topic.events.size();
    bytes += topic.bytes;
    topics.put(name, topic);
    for (Event e : deliveredSince) { // after the read's newest were published after the read
      append(topic, e);
    }
    trimToCapacity(topic);
    enforceBytes();
  }

  /** Appends an event of the topic that is newer than what it holds. */
  private void append(Topic topic, Event e) {
    long seq = e.id().seq();
    if (seq <= topic.newest) {
      return; // in the fill's read already
    }
    topic.newest = seq;
    topic.trimBelow = Math.max(topic.trimBelow, seq - retention + 1); // its publish may trim
    topic.events.addLast(e);
    topic.bytes += size(e);
    heldEvents++;
    bytes += size(e);
    trimToCapacity(topic);
  }

  private void trimToCapacity(Topic topic) {
    while (topic.events.size() > perTopic) {
      Event dropped = topic.events.removeFirst();
      topic.complete = false;
      topic.bytes -= size(dropped);
      heldEvents--;
      bytes -= size(dropped);
    }
  }

  private void enforceBytes() {
    Iterator<Topic> lru = topics.values().iterator();
    while (bytes > maxBytes && lru.hasNext()) {
      Topic t = lru.next();
      heldEvents -= t.events.size();
      bytes -= t.bytes;
      lru.remove();
    }
  }

  /** About what an event takes on the heap: its strings (UTF-16 at worst) and objects. */
  private static long size(Event e) {
    long chars = e.topic().length() + e.data().length();
    for (Map.Entry<String, String> a : e.attributes().entrySet()) {
      chars += a.getKey().length() + a.getValue().length();
    }
    return 2 * chars + 160 + 64L * e.attributes().size();
  }

  synchronized SnapshotCacheStats stats() {
    return new SnapshotCacheStats(topics.size(), heldEvents, bytes, hits.sum(),
        misses.sum(), reads.sum(), waits.sum());
  }

  private static final class Topic {
    final ArrayDeque<Event> events = new ArrayDeque<>(); // oldest first, contiguous for the topic
    boolean complete; // the topic's stream held nothing older when it was read
    long newest; // the newest seq held or read
    long trimBelow = Long.MIN_VALUE; // a trim since the read may have removed entries below it
    long bytes;
  }

  private static final class Fill {
    final long generation;
    final List<Event> delivered = new ArrayList<>(); // the topic's events delivered meanwhile
    final CompletableFuture<Void> done = new CompletableFuture<>();

    Fill(long generation) {
      this.generation = generation;
    }
  }
}
