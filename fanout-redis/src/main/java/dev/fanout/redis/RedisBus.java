package dev.fanout.redis;

import dev.fanout.core.Bus;
import dev.fanout.core.BusListener;
import dev.fanout.core.BusStatus;
import dev.fanout.core.Event;
import dev.fanout.core.EventId;
import dev.fanout.core.LinkState;
import dev.fanout.core.Recovery;
import dev.fanout.core.SnapshotCacheStats;
import dev.fanout.core.internal.BusListeners;
import dev.fanout.core.internal.Require;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.exceptions.JedisException;
import redis.clients.jedis.util.Pool;

/**
 * The {@link Bus} over Redis: publishes through the {@code fanout_publish} function and receives
 * on one Pub/Sub connection per node, on a thread of its own.
 *
 * <p>What it guarantees to its listeners: events in id order, no duplicates, and no silent gap.
 * The stream is the truth and Pub/Sub a fast hint ({@link Sequencer} holds the rules): a gap on
 * the live path (105 after 103) is filled from the stream before 105 is delivered; after a
 * reconnect everything after the last delivered id is read from the stream first; a message the
 * stream does not hold is dropped and counted ({@link BusStatus#strayMessages()}). What the
 * stream cannot give back (trimmed, lost in a failover, or a stream created afresh) is reported
 * with {@link BusListener#onDiscontinuity}, so the hub can resynchronize its clients.
 *
 * <p>A dead link is noticed within about two seconds however it died ({@link RedisLink}), and
 * reopened with exponential backoff and jitter, capped at a second by default so that a Redis
 * that answers again is used again within about a second. Clients stay connected throughout.
 *
 * <pre>{@code
 * RedisBus bus = RedisBus.builder(URI.create("redis://127.0.0.1:6379"),
 *         RedisStream.named("payments"))
 *     .build();
 * Hub hub = Hub.builder().bus(bus).history(bus.history()).build();
 * }</pre>
 */
public final class RedisBus implements Bus {
  private static final Logger log = LoggerFactory.getLogger(RedisBus.class);

  /** Events the snapshot cache keeps per topic by default ({@link Builder#snapshotCache}). */
  public static final int DEFAULT_CACHE_PER_TOPIC = 100;
  /** The snapshot cache's default memory bound, 64 MiB. */
  public static final long DEFAULT_CACHE_BYTES = 64L << 20;

  private final RedisStream stream;
  private final RedisEndpoint endpoint;
  private final Pool<Jedis> pool;
  private final RedisPublisher publisher;
  private final RedisHistory history;
  private final SnapshotCache cache; // or null
  private final RedisLink link;
  private final Sequencer sequencer; // subscriber thread only
  private final BusListeners listeners = new BusListeners();
  private final AtomicLong strayMessages = new AtomicLong();
  private volatile EventId startPosition; // the stream's top when this bus first caught up
  private volatile long lastStrayLog;

  private RedisBus(Builder b) {
    this.stream = b.stream;
    this.endpoint = b.endpoint;
    this.pool = b.endpoint.newPool(b.poolSize);
    Nodes nodes = Nodes.single(endpoint, pool, PoolOwner.SHARED);
    this.publisher = new RedisPublisher(nodes, stream, RedisPublisher.DEFAULT_MAX_IN_FLIGHT,
        b.replication);
    this.history = new RedisHistory(nodes, stream, 0, b.maxScan, b.maxRecovery,
        b.cachePerTopic, b.cacheBytes);
    this.cache = history.cache();
    this.sequencer = new Sequencer(new StreamSource(), new SequenceOutput(), System::nanoTime);
    String node = Long.toString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE, 36);
    this.link = new RedisLink(b.endpoint, pool, stream, node, new RedisLink.Liveness(
        b.pingInterval, b.deadAfter, b.probeInterval, b.probeDeadAfter, b.backoffMin,
        b.backoffMax), new LinkHandler(), state -> {
          b.onLinkChange.accept(state);
          if (state == LinkState.UP || state == LinkState.DOWN) {
            busState(state == LinkState.UP);
          }
        });
    link.start();
  }

  public static Builder builder(URI redis, RedisStream stream) {
    return new Builder(redis, stream);
  }

  @Override
  public EventId publish(String topic, Map<String, String> attributes, String data) {
    return publisher.publish(topic, attributes, data);
  }

  @Override
  public AutoCloseable subscribe(BusListener listener) {
    Objects.requireNonNull(listener, "listener");
    AutoCloseable handle = listeners.add(listener);
    EventId start = startPosition;
    if (start != null) { // the bus started before this listener: tell it where (idempotent)
      listener.onPosition(start);
    }
    return handle;
  }

  /** The history of this bus's stream, sharing its connection pool. */
  @Override
  public RedisHistory history() {
    return history;
  }

  /**
   * The link (up, why it last went down, how often and how long), the messages dropped because
   * the stream does not hold them (malformed, forged, from another deployment publishing on the
   * same channel, or of an epoch the stream moved past: a rising count means something else
   * publishes on this channel), and the snapshot cache.
   */
  @Override
  public BusStatus status() {
    return new BusStatus(link.state(), link.downReason(), link.downs(), link.downtime(),
        strayMessages.get(), cache == null ? SnapshotCacheStats.NONE : cache.stats());
  }

  /**
   * Connects to {@code redis} once (through its sentinels, TLS and credentials) and pings, so a
   * server can refuse to start on a bad configuration instead of retrying forever. A cluster
   * ({@code redis-cluster://}) must answer as one, be up ({@code cluster_state:ok}, every slot
   * served) and have every primary answer at the address it announces.
   *
   * @throws FanoutRedisException with one line saying what is wrong: unreachable, credentials
   *     refused, certificate not trusted, sentinels that do not name the master, not a cluster
   *     or a cluster that is down
   * @throws IllegalArgumentException when the URI itself is malformed
   */
  public static void check(URI redis) {
    RedisEndpoint.parse(redis, Duration.ofSeconds(2)).check();
  }

  /**
   * {@link #check(URI)}, then that {@code stream}'s partition count is the namespace's: one
   * line naming both when it was created with another (a namespace without a record, on a
   * standalone or Sentinel Redis, has one partition).
   *
   * @throws FanoutRedisException with one line saying what is wrong
   */
  public static void check(URI redis, RedisStream stream) {
    Objects.requireNonNull(stream, "stream");
    RedisEndpoint endpoint = RedisEndpoint.parse(redis, Duration.ofSeconds(2));
    endpoint.check();
    try (RedisPublisher publisher = new RedisPublisher(Nodes.of(endpoint, 1), stream, 1)) {
      publisher.checkPartitions();
    }
  }

  /** Stops the link's threads and closes every connection; returns promptly. */
  @Override
  public void close() {
    link.close();
    pool.close();
  }

  /** What the link delivers, handed to the sequencer (on the subscriber thread). */
  private final class LinkHandler implements RedisLink.Handler {
    @Override
    public void onConnected() {
      String refused = partitionsRefusal();
      if (refused != null) {
        throw new FanoutRedisException(refused);
      }
      sequencer.onConnected();
      log.debug("{} caught up at {}", stream, sequencer.position());
    }

    @Override
    public void onMessage(byte[] message) {
      Event event;
      try {
        event = Netstrings.decodeEvent(message);
      } catch (RuntimeException e) {
        stray("a malformed message (" + e.getMessage() + ")");
        return;
      }
      sequencer.onMessage(event);
    }

    @Override
    public void onIdle() {
      sequencer.onIdle();
    }
  }

  /** The sequencer's view of the stream. */
  private final class StreamSource implements Sequencer.Source {
    @Override
    public Position position() {
      return history.position();
    }

    @Override
    public Recovery readAfter(String epoch, long afterSeq, int max, List<Event> out) {
      return history.readAfter(epoch, afterSeq, max, out);
    }

    @Override
    public long oldestSeq() {
      return history.oldestSeq();
    }

    @Override
    public void newEpoch(String expected) {
      publisher.newEpoch(expected);
    }
  }

  /** Where the sequence goes: the listeners, and the stray counter. */
  private final class SequenceOutput implements Sequencer.Output {
    @Override
    public void deliver(Event event) {
      if (cache != null) { // first: a snapshot asked after the hub routes it finds it in memory
        cache.add(event);
      }
      listeners.event(event);
    }

    @Override
    public void discontinuity(String reason) {
      log.warn("events lost on {}: {}", stream, reason);
      if (cache != null) {
        cache.forget();
      }
      listeners.discontinuity(reason);
    }

    @Override
    public void startsAt(EventId position) {
      startPosition = position;
      listeners.position(position);
    }

    @Override
    public void stray(Event event, String why) {
      RedisBus.this.stray("message " + event.id() + " " + why);
    }
  }

  /**
   * Null when the namespace has one partition in the single layout, as this bus reads it, else
   * why this node must not run on it. Read on every (re)connect: one HGET.
   */
  private String partitionsRefusal() {
    String count;
    try (Jedis jedis = pool.getResource()) {
      count = jedis.hget(stream.partitionsKey(), "count");
    } catch (JedisException e) {
      RedisEndpoint.forgetIdleAfter(e, pool);
      throw new FanoutRedisException("reading the partitions of " + stream + " failed", e);
    }
    return PartitionRecord.refusal(stream, count == null ? null : Long.valueOf(count), "node");
  }

  private void busState(boolean up) {
    if (!up && cache != null) { // what Redis holds when it is back may not be what we saw
      cache.forget();
    }
    listeners.busState(up);
  }

  /** Counts a message on the channel that was not delivered; logs at most one a second. */
  private void stray(String what) {
    strayMessages.incrementAndGet();
    long now = System.nanoTime();
    if (now - lastStrayLog > 1_000_000_000L) {
      lastStrayLog = now;
      log.warn("dropped {} on {}: the stream is the truth (dropped so far: {})", what,
          stream.channel(), strayMessages.get());
    }
  }

  /** Builds a {@link RedisBus}; every setting has a default and is validated eagerly. */
  public static final class Builder {
    private final RedisEndpoint endpoint;
    private final RedisStream stream;
    private Duration pingInterval = Duration.ofMillis(250);
    private Duration deadAfter = Duration.ofMillis(1500);
    private Duration probeInterval = Duration.ofSeconds(1);
    private Duration probeDeadAfter = Duration.ofMillis(2500);
    private Duration backoffMin = Duration.ofMillis(100);
    private Duration backoffMax = Duration.ofSeconds(1);
    private int poolSize = 16;
    private int maxScan = RedisHistory.DEFAULT_MAX_SCAN;
    private int maxRecovery = RedisHistory.DEFAULT_MAX_RECOVERY;
    private int cachePerTopic = DEFAULT_CACHE_PER_TOPIC;
    private long cacheBytes = DEFAULT_CACHE_BYTES;
    private Consumer<LinkState> onLinkChange = s -> {};
    private Replication replication = Replication.NONE;

    private Builder(URI redis, RedisStream stream) {
      this.stream = Objects.requireNonNull(stream, "stream");
      this.endpoint = RedisEndpoint.parse(redis, Duration.ofSeconds(2));
      Require.argument(!endpoint.isCluster(), "RedisBus does not subscribe on a Redis Cluster "
          + "yet (one subscriber per primary comes next); %s is one", endpoint);
      Require.argument(stream.partitions() == 1 && !stream.isTagged(), "RedisBus follows one "
          + "partition in the single layout for now; %s has %d", stream.namespace(),
          stream.partitions());
    }

    /**
     * Reconnect backoff: from {@code min}, doubling, capped at {@code max}, with jitter; default
     * 100 ms to 1 s, so a Redis that answers again is used within about a second.
     */
    public Builder backoff(Duration min, Duration max) {
      Require.positive(min, "minimum backoff");
      Objects.requireNonNull(max, "maximum backoff");
      Require.argument(max.compareTo(min) >= 0, "maximum backoff %s is below minimum %s", max,
          min);
      this.backoffMin = min;
      this.backoffMax = max;
      return this;
    }

    /** Connections in the pool used for publishing and history reads; default 16. */
    public Builder poolSize(int size) {
      this.poolSize = Require.positive(size, "pool size");
      return this;
    }

    /** Snapshot scan bound and resume bound of {@link #history()}. */
    public Builder historyLimits(int maxScan, int maxRecovery) {
      this.maxScan = Require.positive(maxScan, "history max scan");
      this.maxRecovery = Require.positive(maxRecovery, "history max recovery");
      return this;
    }

    /**
     * Snapshots from memory: the bus keeps the newest {@code eventsPerTopic} events of each topic
     * a snapshot asked for (read from Redis once, then kept current from what the bus delivers)
     * and the last {@code maxScan} events of the stream, within about {@code maxBytes} (topics
     * least recently asked for are dropped first). A snapshot the cache can answer exactly, with
     * the answer Redis would give, costs Redis nothing; concurrent snapshots of a topic share one
     * read. Keep {@code eventsPerTopic} at or above the hub's snapshot size. Default {@value
     * #DEFAULT_CACHE_PER_TOPIC} events per topic and 64 MiB; {@code eventsPerTopic} 0 turns it
     * off.
     */
    public Builder snapshotCache(int eventsPerTopic, long maxBytes) {
      Require.notNegative(eventsPerTopic, "snapshot cache events per topic");
      Require.argument(maxBytes >= 1, "snapshot cache bytes must be at least 1, got %d",
          maxBytes);
      this.cachePerTopic = eventsPerTopic;
      this.cacheBytes = maxBytes;
      return this;
    }

    /**
     * What {@link #publish} requires before it acknowledges: {@code replicas} replicas within
     * {@code timeout}, as {@link RedisPublisher.Builder#minReplicas}; 0 (default) none.
     */
    public Builder minReplicas(int replicas, Duration timeout) {
      this.replication = RedisPublisher.Builder.replication(replicas, timeout);
      return this;
    }

    /** Called on every change of the link state (for metrics and health). */
    public Builder onLinkChange(Consumer<LinkState> listener) {
      this.onLinkChange = Objects.requireNonNull(listener, "listener");
      return this;
    }

    /** Starts the subscriber; the link comes up in the background. */
    public RedisBus build() {
      return new RedisBus(this);
    }

  }
}
