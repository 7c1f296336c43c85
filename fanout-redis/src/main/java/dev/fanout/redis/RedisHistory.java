package dev.fanout.redis;

import dev.fanout.core.Cursor;
import dev.fanout.core.Event;
import dev.fanout.core.EventId;
import dev.fanout.core.History;
import dev.fanout.core.Recovery;
import dev.fanout.core.Scope;
import dev.fanout.core.SnapshotCacheStats;
import dev.fanout.core.Subscription;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.TreeMap;
import redis.clients.jedis.resps.StreamEntry;

/**
 * The {@link History} of a fanout stream, read from its Redis Streams: snapshots scan a bounded
 * number of the newest entries; resumes read exactly the entries after an id, or answer "not
 * recovered" (unknown id, trimmed, other epoch, too many). Thread-safe.
 *
 * <p>A stream of several partitions ({@link RedisStream#withPartitions}) is read per partition,
 * each on the primary serving its slot: a snapshot is the newest matching events of the
 * partitions the subscription follows, by publish time; a resume from a {@link Cursor} is exact
 * in every partition it follows or recovered in none. Ids then name their partition ({@code
 * <partition>.<epoch>:<seq>}); a stream of one partition keeps {@code <epoch>:<seq>}.
 */
public final class RedisHistory implements History, AutoCloseable {
  /** Default most entries a snapshot scans (per partition). */
  public static final int DEFAULT_MAX_SCAN = 2_000;
  /** Default most events one resume may replay (over every partition it reads). */
  public static final int DEFAULT_MAX_RECOVERY = 10_000;

  /** A snapshot or resume of at most this many named topics of a partition reads their streams. */
  static final int MAX_TOPIC_READS = 16;

  private static final RedisPartition UNNAMED = RedisPartition.single("fanout");

  private final Nodes nodes;
  private final RedisStream stream;
  private final List<PartitionHistory> partitions;
  private final int maxRecovery;

  /** A history of every partition of {@code stream}, without snapshot cache. */
  RedisHistory(Nodes nodes, RedisStream stream, int maxScan, int maxRecovery) {
    this(nodes, stream, maxScan, maxRecovery, 0, 0);
  }

  /**
   * A history of every partition of {@code stream}, each with a snapshot cache of {@code
   * perTopic} events per topic (0: none) that the bus feeds; {@code cacheBytes} bounds them
   * together (each partition's cache gets an equal share).
   */
  RedisHistory(Nodes nodes, RedisStream stream, int maxScan, int maxRecovery, int perTopic,
      long cacheBytes) {
    this.nodes = nodes;
    this.stream = nodes.isCluster() ? stream.tagged() : stream;
    this.maxRecovery = maxRecovery;
    int count = this.stream.partitions();
    long share = Math.max(1, cacheBytes / count);
    List<PartitionHistory> all = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      all.add(new PartitionHistory(nodes, this.stream, i, maxScan, perTopic, share));
    }
    this.partitions = List.copyOf(all);
  }

  /** A history with its own connections and the default limits, of any number of partitions. */
  public static RedisHistory create(URI redis, RedisStream stream) {
    Objects.requireNonNull(stream, "stream");
    return new RedisHistory(Nodes.of(RedisEndpoint.parse(redis, Duration.ofSeconds(2)), 8),
        stream, DEFAULT_MAX_SCAN, DEFAULT_MAX_RECOVERY);
  }

  /** The history of partition {@code index}. */
  PartitionHistory partition(int index) {
    return partitions.get(index);
  }

  /** The stream, in the layout its Redis needs. */
  RedisStream stream() {
    return stream;
  }

  /** The snapshot cache of the only partition (a stream of one), or null when there is none. */
  SnapshotCache cache() {
    return only().cache();
  }

  /** The snapshot caches' sizes and counters, summed over the partitions. */
  SnapshotCacheStats cacheStats() {
    long topics = 0;
    long events = 0;
    long bytes = 0;
    long hits = 0;
    long misses = 0;
    long fills = 0;
    long waits = 0;
    boolean any = false;
    for (PartitionHistory p : partitions) {
      SnapshotCache cache = p.cache();
      if (cache != null) {
        any = true;
        SnapshotCacheStats s = cache.stats();
        topics += s.topics();
        events += s.events();
        bytes += s.bytes();
        hits += s.hits();
        misses += s.misses();
        fills += s.fills();
        waits += s.waits();
      }
    }
    return any ? new SnapshotCacheStats(topics, events, bytes, hits, misses, fills, waits)
        : SnapshotCacheStats.NONE;
  }

  /** Where the only partition's stream stands (a stream of one); null when it does not exist. */
  Position position() {
    return only().position();
  }

  /** The oldest retained sequence number of the only partition (a stream of one), or 0. */
  long oldestSeq() {
    return only().oldestSeq();
  }

  /** The newest {@code count} events of {@code topic}'s stream, newest first. */
  List<Event> newestOfTopic(String topic, int count) {
    return partitions.get(stream.partitionOf(topic)).newestOfTopic(topic, count);
  }

  /** For the bus catching up on the only partition; see {@link PartitionHistory#readAfter}. */
  Recovery readAfter(String epoch, long afterSeq, int max, List<Event> out) {
    return only().readAfter(epoch, afterSeq, max, out);
  }

  private PartitionHistory only() {
    if (partitions.size() != 1) {
      throw new IllegalStateException(stream + " has " + partitions.size()
          + " partitions: name one");
    }
    return partitions.get(0);
  }

  /**
   * {@inheritDoc}
   *
   * <p>A subscription to at most {@value #MAX_TOPIC_READS} named topics (of a partition) reads
   * those topics' streams, so a quiet merchant's snapshot holds its last events however much
   * else was published since; others scan the newest entries of the stream. Each scan reads at
   * most {@code maxScan} entries per partition. With several partitions, each partition the
   * subscription follows is read (every partition, for a subscription to all topics) and the
   * answer is the newest {@code limit} of them by publish time, oldest first, each partition's
   * events in their order. A history of a {@link RedisBus} answers from the bus's memory when it
   * holds the same answer (see the bus's {@code snapshotCache} setting).
   */
  @Override
  public List<Event> latest(int limit, Subscription subscription) {
    if (partitions.size() == 1) {
      return partitions.get(0).latest(limit, subscription);
    }
    List<List<Event>> parts = new ArrayList<>();
    for (Map.Entry<Integer, Subscription> e : followed(subscription).entrySet()) {
      parts.add(partitions.get(e.getKey()).latest(limit, e.getValue()));
    }
    return newestByPublishTime(parts, limit);
  }

  /**
   * The newest {@code limit} of the events of several partitions (each list oldest first), oldest
   * first by publish time; ties go to the lower partition. Each partition's events keep their
   * order, whatever the clocks said.
   */
  static List<Event> newestByPublishTime(List<List<Event>> partitions, int limit) {
    List<Event> merged = new ArrayList<>();
    PriorityQueue<int[]> heads = new PriorityQueue<>(Comparator.<int[]>comparingLong(
        h -> partitions.get(h[0]).get(h[1]).publishedAtMillis()).thenComparingInt(
            h -> partitions.get(h[0]).get(h[1]).id().partition()));
    for (int p = 0; p < partitions.size(); p++) {
      if (!partitions.get(p).isEmpty()) {
        heads.add(new int[] {p, 0});
      }
    }
    while (!heads.isEmpty()) {
      int[] head = heads.poll();
      List<Event> list = partitions.get(head[0]);
      merged.add(list.get(head[1]));
      if (head[1] + 1 < list.size()) {
        heads.add(new int[] {head[0], head[1] + 1});
      }
    }
    return merged.size() <= limit ? merged
        : new ArrayList<>(merged.subList(merged.size() - limit, merged.size()));
  }

  /**
   * A resume that missed more than {@code maxRecovery} events (over every partition it reads) is
   * TOO_MANY, and one that missed more than the retention finds them trimmed.
   */
  @Override
  public long recoveryLimit() {
    return Math.min(maxRecovery, stream.retention());
  }

  /**
   * {@inheritDoc}
   *
   * <p>With several partitions, {@code after} names one: the resume is {@link #since(Cursor,
   * Subscription)} of it alone.
   */
  @Override
  public Recovery since(EventId after, Subscription subscription) {
    Objects.requireNonNull(after, "after");
    if (partitions.size() > 1) {
      return since(Cursor.of(after), subscription);
    }
    if (after.isPartitioned()) {
      return Recovery.notRecovered(Recovery.Reason.UNKNOWN_ID, "position " + after
          + " names a partition; " + stream.namespace() + " has one, whose ids name none");
    }
    return partitions.get(0).since(after.epoch(), after.seq(), subscription, maxRecovery)
        .recovery();
  }

  /**
   * {@inheritDoc}
   *
   * <p>Each partition the subscription follows (every one, for all topics) is read after the id
   * {@code after} names for it, or, when it names none, from its start if its whole past is
   * retained: nothing trimmed (its first event is still there) and every retained event of its
   * current epoch or of the one that epoch was bridged from (a restart or failover that lost
   * nothing). Ids of partitions the subscription does not follow are not read. More than
   * {@code maxRecovery} events missed over all of them is TOO_MANY. The events come partition by
   * partition, each partition's oldest first.
   */
  @Override
  public Recovery since(Cursor after, Subscription subscription) {
    Objects.requireNonNull(after, "after");
    int count = partitions.size();
    if (count == 1) {
      return after.size() == 1 ? since(after.single(), subscription)
          : Recovery.notRecovered(Recovery.Reason.UNKNOWN_ID, "position " + after + " names "
              + after.size() + " partitions; " + stream.namespace() + " has one");
    }
    for (EventId id : after.ids()) {
      if (!id.isPartitioned() || id.partition() >= count) {
        return Recovery.notRecovered(Recovery.Reason.UNKNOWN_ID, "position " + after
            + " does not name partitions of " + stream.namespace() + ", which has " + count);
      }
    }
    List<Event> events = new ArrayList<>();
    long budget = maxRecovery;
    for (Map.Entry<Integer, Subscription> e : followed(subscription).entrySet()) {
      PartitionHistory part = partitions.get(e.getKey());
      EventId id = after.get(e.getKey());
      PartitionHistory.Answer answer = id == null ? part.sinceStart(e.getValue(), budget)
          : part.since(id.epoch(), id.seq(), e.getValue(), budget);
      Recovery r = answer.recovery();
      if (!r.recovered()) {
        return r.reason() == Recovery.Reason.TOO_MANY && budget < maxRecovery
            ? Recovery.notRecovered(Recovery.Reason.TOO_MANY, "more than " + maxRecovery
                + " events were missed over the partitions of " + after + "; at most "
                + maxRecovery + " are replayed")
            : r;
      }
      events.addAll(r.events());
      budget -= answer.counted();
    }
    return Recovery.recovered(events);
  }

  /**
   * The partitions {@code subscription} follows, each with the subscription as that partition
   * reads it: every partition with the subscription itself for all topics, else the partitions
   * of its topics with the subscription restricted to each one's topics.
   */
  private Map<Integer, Subscription> followed(Subscription subscription) {
    Map<Integer, Subscription> out = new TreeMap<>();
    if (subscription.allTopics()) {
      for (int i = 0; i < partitions.size(); i++) {
        out.put(i, subscription);
      }
      return out;
    }
    Map<Integer, Set<String>> topics = new HashMap<>();
    for (String topic : subscription.topics()) {
      topics.computeIfAbsent(stream.partitionOf(topic), p -> new HashSet<>()).add(topic);
    }
    topics.forEach((p, ts) -> out.put(p, subscription.restrictTo(Scope.of(ts))));
    return out;
  }

  /** The event of a stream entry, with the id Redis stored ({@code <epoch>:<seq>}). */
  static Event toEvent(StreamEntry entry) {
    return PartitionHistory.toEvent(entry, UNNAMED);
  }

  /** The event of a stream entry of {@code partition}, its id named as the partition names it. */
  static Event toEvent(StreamEntry entry, RedisPartition partition) {
    return PartitionHistory.toEvent(entry, partition);
  }

  @Override
  public void close() {
    nodes.close();
  }
}
