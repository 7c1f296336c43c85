package dev.fanout.redis;

import dev.fanout.core.Event;
import dev.fanout.core.Recovery;
import dev.fanout.core.Subscription;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.Pipeline;
import redis.clients.jedis.PipeliningBase;
import redis.clients.jedis.Response;
import redis.clients.jedis.StreamEntryID;
import redis.clients.jedis.Transaction;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.exceptions.JedisException;
import redis.clients.jedis.resps.StreamEntry;

/**
 * The retained past of one partition of a fanout stream, read from its Redis Stream: snapshots
 * scan a bounded number of the newest entries; resumes read exactly the entries after an id, or
 * answer "not recovered" (unknown id, trimmed, other epoch, too many). Every key it reads shares
 * the partition's slot: on a Redis Cluster each read goes to the primary serving that slot,
 * following the cluster when the slot moves. The events it returns carry ids named as the
 * partition names them ({@link RedisPartition#eventId}). {@link RedisHistory} answers for the
 * whole stream from one of these per partition. Thread-safe.
 */
final class PartitionHistory {
  private static final int BATCH = 500;
  private static final String[] META_FIELDS = {"epoch", "seq", "base", "prev", "floor"};

  private final Nodes nodes;
  private final RedisStream stream;
  private final RedisPartition partition;
  private final Duration retryBudget; // zero on a single Redis: one attempt, as always
  private final int maxScan;
  private final SnapshotCache cache; // fed by the bus that owns this history; or null

  /**
   * The history of partition {@code index} of {@code stream} (in the layout its Redis needs), with
   * a snapshot cache of {@code perTopic} events per topic (0: none) the bus feeds.
   */
  PartitionHistory(Nodes nodes, RedisStream stream, int index, int maxScan, int perTopic,
      long cacheBytes) {
    this.nodes = nodes;
    this.stream = stream;
    this.partition = stream.partition(index);
    this.retryBudget = nodes.isCluster() ? RedisPublisher.CLUSTER_RETRY_BUDGET : Duration.ZERO;
    this.maxScan = maxScan;
    this.cache = perTopic == 0 ? null : new SnapshotCache(perTopic, cacheBytes, maxScan,
        RedisHistory.MAX_TOPIC_READS, stream.retention(), this::newestOfTopic);
  }

  /** The snapshot cache the owning bus feeds, or null. */
  SnapshotCache cache() {
    return cache;
  }

  RedisPartition partition() {
    return partition;
  }

  /** Runs a read on the partition's primary (retried on a cluster while it moves). */
  private <T> T read(Retry.Op<T> op) {
    return Retry.call(nodes, partition.slot(), true, retryBudget, op);
  }

  /** Where the stream stands; null when it does not exist yet. */
  Position position() {
    try {
      return read((jedis, node) -> Position.of(jedis.hmget(partition.metaKey(),
          Position.FIELDS)));
    } catch (JedisException e) {
      throw new FanoutRedisException("reading the position of " + where() + " failed", e);
    }
  }

  /** The sequence number of the oldest retained entry, or 0 when the stream is empty. */
  long oldestSeq() {
    try {
      List<StreamEntry> first = read((jedis, node) -> jedis.xrange(partition.streamKey(),
          StreamEntryID.MINIMUM_ID, StreamEntryID.MAXIMUM_ID, 1));
      return first.isEmpty() ? 0 : first.get(0).getID().getTime();
    } catch (JedisException e) {
      throw new FanoutRedisException("reading the oldest entry of " + where() + " failed", e);
    }
  }

  /** The stream, and the partition when it has several, for messages. */
  private String where() {
    return stream.partitions() == 1 ? stream.toString() : stream + " " + partition;
  }

  /**
   * The last {@code limit} events of this partition matching {@code subscription} (restricted to
   * this partition's topics), oldest first. A subscription to at most {@value
   * RedisHistory#MAX_TOPIC_READS} named topics reads those topics' streams, so a quiet merchant's
   * snapshot holds its last events however much else was published since; others scan the
   * newest entries of the stream. Each scan reads at most {@code maxScan} entries. The bus's
   * memory answers when it holds the same answer ({@link SnapshotCache}).
   */
  List<Event> latest(int limit, Subscription subscription) {
    List<Event> out = new ArrayList<>();
    if (limit <= 0) {
      return out;
    }
    List<Event> cached = cache == null ? null : cache.latest(limit, subscription);
    if (cached != null) {
      return cached;
    }
    try {
      read((jedis, node) -> {
        out.clear(); // a read tried again starts over
        if (readsTopics(subscription)) {
          for (String topic : subscription.topics()) {
            scanNewest(jedis, partition.topicKey(topic), limit, subscription, out);
          }
        } else {
          scanNewest(jedis, partition.streamKey(), limit, subscription, out);
        }
        return null;
      });
    } catch (JedisException e) {
      throw new FanoutRedisException("reading a snapshot of " + where() + " failed", e);
    }
    out.sort(Comparator.comparingLong(e -> e.id().seq()));
    return out.size() <= limit ? out : new ArrayList<>(out.subList(out.size() - limit, out.size()));
  }

  /** Whether {@code subscription} is read from its topics' streams rather than the stream. */
  static boolean readsTopics(Subscription subscription) {
    return !subscription.allTopics()
        && subscription.topics().size() <= RedisHistory.MAX_TOPIC_READS;
  }

  /** The newest {@code count} events of a topic's stream, newest first (one XREVRANGE). */
  List<Event> newestOfTopic(String topic, int count) {
    try {
      List<Event> out = new ArrayList<>();
      for (StreamEntry entry : read((jedis, node) -> jedis.xrevrange(partition.topicKey(topic),
          StreamEntryID.MAXIMUM_ID, StreamEntryID.MINIMUM_ID, count))) {
        out.add(toEvent(entry));
      }
      return out;
    } catch (JedisException e) {
      throw new FanoutRedisException("reading the newest events of topic " + topic + " of "
          + where() + " failed", e);
    }
  }

  /** Adds the newest events of {@code key} that match, at most {@code limit}, newest first. */
  private void scanNewest(Jedis jedis, String key, int limit, Subscription subscription,
      List<Event> out) {
    StreamEntryID end = StreamEntryID.MAXIMUM_ID;
    int scanned = 0;
    int found = 0;
    while (scanned < maxScan && found < limit) {
      int want = Math.min(BATCH, maxScan - scanned);
      List<StreamEntry> batch = jedis.xrevrange(key, end, StreamEntryID.MINIMUM_ID, want);
      for (StreamEntry entry : batch) {
        Event e = toEvent(entry);
        if (subscription.matches(e)) {
          out.add(e);
          if (++found == limit) {
            break;
          }
        }
      }
      scanned += batch.size();
      if (batch.size() < want) {
        break;
      }
      long seq = batch.get(batch.size() - 1).getID().getTime();
      if (seq <= 1) {
        break;
      }
      end = new StreamEntryID(seq - 1, 0);
    }
  }

  /**
   * A resume's answer in this partition, and how many events it counted against the limit: what
   * was missed (every event after the position when the stream itself is read, the matching ones
   * when topic streams are).
   */
  record Answer(Recovery recovery, long counted) {
    static Answer refused(Recovery recovery) {
      return new Answer(recovery, 0);
    }
  }

  /**
   * Exactly the events of this partition after {@code afterSeq} of {@code epoch} (0: from the
   * epoch's start) matching {@code subscription} (restricted to this partition's topics), oldest
   * first; or not recovered: unknown, trimmed, another epoch, or more than {@code limit} missed.
   * Never a partial answer.
   */
  Answer since(String epoch, long afterSeq, Subscription subscription, long limit) {
    if (readsTopics(subscription)) {
      return sinceByTopic(epoch, afterSeq, subscription, limit);
    }
    Read read;
    try {
      read = readAfter(afterSeq, (int) Math.min(Integer.MAX_VALUE - 1, limit) + 1);
    } catch (JedisException e) {
      throw unavailable(e);
    }
    if (read.top == null) {
      return Answer.refused(Recovery.notRecovered(Recovery.Reason.UNKNOWN_ID,
          "the stream is empty"));
    }
    Recovery refused = read.top.refusal(epoch, afterSeq);
    if (refused != null) {
      return Answer.refused(refused);
    }
    long missing = read.top.seq() - afterSeq;
    if (missing > limit) {
      return Answer.refused(Recovery.notRecovered(Recovery.Reason.TOO_MANY,
          missing + " events were missed; at most " + limit + " are replayed"));
    }
    List<Event> all = new ArrayList<>();
    Recovery trimmed = contiguous(read, epoch, afterSeq, missing, all);
    if (trimmed != null) {
      return Answer.refused(trimmed);
    }
    List<Event> matching = new ArrayList<>();
    for (Event e : all) {
      if (subscription.matches(e)) {
        matching.add(e);
      }
    }
    return new Answer(Recovery.recovered(matching), missing);
  }

  /**
   * For a position that does not name this partition: every event of it matching {@code
   * subscription}, when its whole past is retained (nothing trimmed: its first event, seq 1, is
   * still there, and every retained event is of the current epoch or of the one it was bridged
   * from, whose events it holds); a partition without a stream has no past and answers none.
   */
  Answer sinceStart(Subscription subscription, long limit) {
    Position top = position();
    if (top == null) {
      return new Answer(Recovery.recovered(List.of()), 0);
    }
    Answer whole = since(top.prev() != null ? top.prev() : top.epoch(), 0, subscription, limit);
    if (whole.recovery().recovered()) {
      return whole;
    }
    return Answer.refused(Recovery.notRecovered(whole.recovery().reason(), "the position does "
        + "not name " + partition + ", and its whole past is not retained: "
        + whole.recovery().detail()));
  }

  /**
   * A resume of a subscription to a few named topics reads only those topics' streams, so it
   * costs what the client missed, not everything published meanwhile. Topic streams keep every
   * entry at or above the meta hash's floor (fanout.lua), so the answer is complete when the
   * client's position is not below it and no topic's read was cut at the bound; the position
   * and the entries come from one MULTI/EXEC.
   */
  private Answer sinceByTopic(String epoch, long afterSeq, Subscription subscription,
      long limit) {
    Position top;
    String floor;
    int bound = (int) Math.min(Integer.MAX_VALUE - 1, limit) + 1;
    List<Response<List<StreamEntry>>> ranges = new ArrayList<>();
    List<Kept> kept = new ArrayList<>(); // per topic: whether its stream is still there
    List<Response<Boolean>> setKept = new ArrayList<>();
    try {
      List<List<String>> metas = read((jedis, node) -> inOneRead(jedis, (commands, atOnce) -> {
        ranges.clear(); // a read tried again starts over
        kept.clear();
        setKept.clear();
        List<Response<List<String>>> fields = new ArrayList<>();
        fields.add(commands.hmget(partition.metaKey(), META_FIELDS));
        StreamEntryID from = new StreamEntryID(afterSeq + 1, 0);
        for (String topic : subscription.topics()) {
          ranges.add(commands.xrange(partition.topicKey(topic), from,
              StreamEntryID.MAXIMUM_ID, bound));
          kept.add(new Kept(commands.exists(partition.topicKey(topic)),
              commands.sismember(partition.topicsKey(), partition.topicKey(topic))));
        }
        setKept.add(commands.exists(partition.topicsKey()));
        if (!atOnce) { // the floor as it stands after the ranges were read: see inOneRead
          fields.add(commands.hmget(partition.metaKey(), META_FIELDS));
        }
        return () -> fields.stream().map(Response::get).toList();
      }));
      top = Position.of(metas.get(0));
      List<String> last = metas.get(metas.size() - 1);
      floor = last.get(4);
      if (top != null && !top.epoch().equals(last.get(0))) {
        return Answer.refused(Recovery.notRecovered(Recovery.Reason.UNKNOWN_ID,
            "the stream of " + partition + " started epoch " + last.get(0)
                + " while it was read"));
      }
    } catch (JedisException e) {
      throw unavailable(e);
    }
    if (top == null) {
      return Answer.refused(Recovery.notRecovered(Recovery.Reason.UNKNOWN_ID,
          "the stream is empty"));
    }
    Recovery refused = top.refusal(epoch, afterSeq);
    if (refused != null) {
      return Answer.refused(refused);
    }
    if (floor == null || afterSeq + 1 < Long.parseLong(floor)) {
      return Answer.refused(Recovery.notRecovered(Recovery.Reason.TRIMMED,
          "events after " + at(epoch, afterSeq) + " were trimmed from the topic streams"));
    }
    // Evicted under memory pressure (fanout.lua starts afresh at the next publish that sees it):
    // an empty range would otherwise read as "nothing missed".
    if ((top.seq() > 0 && !setKept.get(0).get()) || kept.stream().anyMatch(Kept::evicted)) {
      return Answer.refused(Recovery.notRecovered(Recovery.Reason.TRIMMED,
          "a topic stream of " + partition + " is gone (evicted?)"));
    }
    List<Event> matching = new ArrayList<>();
    for (Response<List<StreamEntry>> range : ranges) {
      List<StreamEntry> entries = range.get();
      if (entries.size() > limit) { // cut at the bound: judged on what was missed, not kept
        return tooMany(subscription, limit);
      }
      for (StreamEntry entry : entries) {
        Event e = toEvent(entry);
        long seq = e.id().seq();
        if (seq > top.seq()) {
          continue; // published after the position was read
        }
        if (!e.id().epoch().equals(top.epochOf(seq))) {
          return Answer.refused(Recovery.notRecovered(Recovery.Reason.UNKNOWN_ID,
              "entry " + e.id() + " is not of the epoch " + epoch + " continues into"));
        }
        if (subscription.matches(e)) {
          matching.add(e);
        }
      }
    }
    if (matching.size() > limit) {
      return tooMany(subscription, limit);
    }
    matching.sort(Comparator.comparingLong(e -> e.id().seq()));
    return new Answer(Recovery.recovered(matching), matching.size());
  }

  /** A topic stream: whether it exists, and whether the epoch's set of topic streams names it. */
  private record Kept(Response<Boolean> exists, Response<Boolean> named) {
    boolean evicted() {
      return !exists.get() && named.get();
    }
  }

  private static Answer tooMany(Subscription subscription, long limit) {
    return Answer.refused(Recovery.notRecovered(Recovery.Reason.TOO_MANY, "more than " + limit
        + " events of " + subscription.topics() + " were missed; at most " + limit
        + " are replayed"));
  }

  /** A position for messages, the start of an epoch ({@code :0}) included. */
  private String at(String epoch, long seq) {
    return seq >= 1 ? partition.eventId(epoch, seq).toString()
        : (partition.namesItsIds() ? partition.index() + "." : "") + epoch + ":" + seq;
  }

  /**
   * For the bus catching up: adds to {@code out} the events after {@code afterSeq} of {@code
   * epoch} (0 = from the start of the epoch), in order, at most {@code max} (call again for
   * more). Returns null on success, else why not: never some of them with a hole.
   *
   * @throws FanoutRedisException when the stream cannot be read
   */
  Recovery readAfter(String epoch, long afterSeq, int max, List<Event> out) {
    Read read;
    try {
      read = readAfter(afterSeq, max);
    } catch (JedisException e) {
      throw unavailable(e);
    }
    if (read.top == null) {
      return Recovery.notRecovered(Recovery.Reason.UNKNOWN_ID, "the stream is empty");
    }
    Recovery refused = read.top.refusal(epoch, afterSeq);
    if (refused != null) {
      return refused;
    }
    return contiguous(read, epoch, afterSeq, Math.min(read.top.seq() - afterSeq, max), out);
  }

  /** The stream's position and up to {@code max} entries after {@code afterSeq}, read together. */
  private Read readAfter(long afterSeq, int max) {
    return read((jedis, node) -> inOneRead(jedis, (commands, atOnce) -> {
      Response<List<String>> meta = commands.hmget(partition.metaKey(), Position.FIELDS);
      Response<List<StreamEntry>> range = commands.xrange(partition.streamKey(),
          new StreamEntryID(afterSeq + 1, 0), StreamEntryID.MAXIMUM_ID, max);
      return () -> new Read(Position.of(meta.get()), range.get());
    }));
  }

  private record Read(Position top, List<StreamEntry> entries) {}

  /** Queues the commands of one read and says how to take its answer once they have run. */
  @FunctionalInterface
  private interface Reads<T> {
    /**
     * @param atOnce true in a MULTI/EXEC (nothing runs between the commands); false in a plain
     *     pipeline (other clients' commands may)
     */
    Supplier<T> queue(PipeliningBase commands, boolean atOnce);
  }

  /**
   * Runs a read's commands in one MULTI/EXEC, so they see one instant of the stream. Redis
   * refuses every command queued in a MULTI while it is over {@code maxmemory} (EXECABORT),
   * reads included, so then they run again as a plain pipeline, which Redis serves at
   * maxmemory: the readers stay exact without the one instant because a stream entry never
   * changes once written, each entry names its epoch, entries above the position read first are
   * ignored, and a topic resume takes its floor from a second read of the meta hash after its
   * ranges (a trim between the two raises the floor and refuses; it never leaves a hole).
   */
  private static <T> T inOneRead(Jedis jedis, Reads<T> reads) {
    try {
      Transaction tx = jedis.multi();
      Supplier<T> answer = reads.queue(tx, true);
      tx.exec();
      return answer.get();
    } catch (JedisDataException e) {
      if (!outOfMemory(e)) {
        throw e;
      }
    }
    Pipeline pipeline = jedis.pipelined();
    Supplier<T> answer = reads.queue(pipeline, false);
    pipeline.sync();
    return answer.get();
  }

  /** Whether Redis refused a MULTI because it is over maxmemory. */
  static boolean outOfMemory(JedisDataException e) {
    if (e.getMessage() != null && e.getMessage().startsWith("OOM")) {
      return true;
    }
    for (Throwable s : e.getSuppressed()) {
      if (s.getMessage() != null && s.getMessage().startsWith("OOM")) {
        return true;
      }
    }
    return false;
  }

  /**
   * Adds the {@code wanted} events after {@code afterSeq} to {@code out} if the read holds every
   * one of them, each of the epoch its sequence number belongs to; else adds nothing and says
   * they were trimmed.
   */
  private Recovery contiguous(Read read, String epoch, long afterSeq, long wanted,
      List<Event> out) {
    int start = out.size();
    long expected = afterSeq + 1;
    for (StreamEntry entry : read.entries) {
      if (out.size() - start == wanted) {
        break;
      }
      Event e = toEvent(entry);
      if (e.id().seq() != expected || !e.id().epoch().equals(read.top.epochOf(expected))) {
        break;
      }
      out.add(e);
      expected++;
    }
    if (out.size() - start != wanted) {
      out.subList(start, out.size()).clear();
      return Recovery.notRecovered(Recovery.Reason.TRIMMED,
          "events after " + at(epoch, afterSeq) + " were trimmed from the stream");
    }
    return null;
  }

  /** History that cannot be read is an exception on every path, snapshot, resume and catch-up. */
  private FanoutRedisException unavailable(JedisException e) {
    return new FanoutRedisException("reading " + where() + " failed: " + e.getMessage(), e);
  }

  private Event toEvent(StreamEntry entry) {
    return toEvent(entry, partition);
  }

  /** The event of a stream entry of {@code partition}, its id named as the partition names it. */
  static Event toEvent(StreamEntry entry, RedisPartition partition) {
    Map<String, String> fields = entry.getFields();
    Map<String, String> attributes = new LinkedHashMap<>();
    fields.forEach((k, v) -> {
      if (k.startsWith("a:")) {
        attributes.put(k.substring(2), v);
      }
    });
    String epoch = fields.get("e");
    if (epoch == null || fields.get("t") == null || fields.get("d") == null) {
      throw new FanoutRedisException("stream entry " + entry.getID() + " is not a fanout event");
    }
    return Event.of(partition.eventId(epoch, entry.getID().getTime()), fields.get("t"),
        attributes, fields.get("d"), Netstrings.publishTime(fields.get("p")));
  }
}
