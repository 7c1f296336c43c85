package dev.fanout.redis;

import dev.fanout.core.Bus;
import dev.fanout.core.BusListener;
import dev.fanout.core.BusStatus;
import dev.fanout.core.Event;
import dev.fanout.core.EventId;
import dev.fanout.core.LinkState;
import dev.fanout.core.Partitioning;
import dev.fanout.core.Recovery;
import dev.fanout.core.SnapshotCacheStats;
import dev.fanout.core.internal.BusListeners;
import dev.fanout.core.internal.Require;
import java.net.URI;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.Protocol;
import redis.clients.jedis.exceptions.JedisException;
import redis.clients.jedis.util.Pool;

/**
 * The {@link Bus} over Redis: publishes through the {@code fanout_publish} function and receives
 * with Pub/Sub on connections of its own.
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
 * <p>Two ways to receive. A stream of one partition on a standalone or Sentinel Redis (the
 * single layout) has one Pub/Sub connection ({@code SUBSCRIBE ns:events}) and receives every
 * event from the start. A stream of several partitions ({@link RedisStream#withPartitions}), or
 * any stream on a Redis Cluster ({@code redis-cluster://}), receives with sharded Pub/Sub only
 * the partitions {@link #need} names, on one connection per primary that serves any of them;
 * its ids name their partition ({@code <partition>.<epoch>:<seq>}, when it has several), each
 * partition has its own sequence, epochs and discontinuities ({@link
 * BusListener#onDiscontinuity(int, String)}), and the map of the cluster is fanout's own,
 * followed through reshards and failovers (docs/redis.md).
 *
 * <pre>{@code
 * RedisBus bus = RedisBus.builder(URI.create("redis://127.0.0.1:6379"),
 *         RedisStream.named("payments"))
 *     .build();
 * Hub hub = Hub.builder().bus(bus).history(bus.history()).build();
 * }</pre>
 */
public final class RedisBus implements Bus {
  /** How often {@link #status()} reads whether Redis refuses writes (INFO) at most. */
  private static final long WRITE_CHECK_NANOS = TimeUnit.SECONDS.toNanos(2);
  private static final Logger log = LoggerFactory.getLogger(RedisBus.class);

  /** Events the snapshot cache keeps per topic by default ({@link Builder#snapshotCache}). */
  public static final int DEFAULT_CACHE_PER_TOPIC = 100;
  /** The snapshot cache's default memory bound, 64 MiB. */
  public static final long DEFAULT_CACHE_BYTES = 64L << 20;

  private final RedisStream stream;
  private final RedisEndpoint endpoint;
  private final Pool<Jedis> pool; // the one Redis's; null on a cluster
  private final Nodes nodes;
  private final RedisPublisher publisher;
  private final RedisHistory history;
  private final Partitioning partitioning;
  // One partition on one Redis: one Pub/Sub link (null otherwise)
  private final SnapshotCache cache; // or null
  private final RedisLink link;
  private final Sequencer sequencer; // subscriber thread only
  private final BusListeners listeners = new BusListeners();
  // Several partitions, or a cluster: sharded Pub/Sub per primary (null otherwise)
  private final ShardedReceiver sharded;
  private final AtomicLong strayMessages = new AtomicLong();
  private final WriteRefusal writes =
      new WriteRefusal(this::writesRefused, System::nanoTime, WRITE_CHECK_NANOS);
  private volatile EventId startPosition; // the stream's top when this bus first caught up
  private volatile long lastStrayLog;

  private RedisBus(Builder b) {
    this.stream = b.stream;
    this.endpoint = b.endpoint;
    if (endpoint.isCluster()) {
      this.pool = null;
      this.nodes = new ClusterNodes(endpoint, b.poolSize);
    } else {
      this.pool = b.endpoint.newPool(b.poolSize);
      this.nodes = Nodes.single(endpoint, pool, PoolOwner.SHARED);
    }
    this.publisher = new RedisPublisher(nodes, stream, RedisPublisher.DEFAULT_MAX_IN_FLIGHT,
        b.replication);
    this.history = new RedisHistory(nodes, stream, b.maxScan, b.maxRecovery, b.cachePerTopic,
        b.cacheBytes);
    RedisLink.Liveness liveness = new RedisLink.Liveness(b.pingInterval, b.deadAfter,
        b.probeInterval, b.probeDeadAfter, b.backoffMin, b.backoffMax);
    if (endpoint.isCluster() || stream.partitions() > 1) {
      RedisStream layout = history.stream();
      this.partitioning = partitioning(layout);
      this.cache = null;
      this.link = null;
      this.sequencer = null;
      this.sharded = new ShardedReceiver(layout, primaries(), new StreamOfPartitions(),
          liveness, b.mapRefresh, b.onLinkChange);
      sharded.start();
      return;
    }
    this.partitioning = Partitioning.single();
    this.sharded = null;
    this.cache = history.cache();
    this.sequencer = new Sequencer(new StreamSource(), new SequenceOutput(), System::nanoTime);
    String node = Long.toString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE, 36);
    this.link = new RedisLink(b.endpoint, pool, stream, node, liveness, new LinkHandler(),
        state -> {
          b.onLinkChange.accept(state);
          if (state == LinkState.UP || state == LinkState.DOWN) {
            busState(state == LinkState.UP);
          }
        });
    link.start();
  }

  private static Partitioning partitioning(RedisStream layout) {
    int count = layout.partitions();
    return new Partitioning() {
      @Override
      public int count() {
        return count;
      }

      @Override
      public int partitionOf(String topic) {
        return layout.partitionOf(topic);
      }

      @Override
      public String toString() {
        return count + " partitions of " + layout.namespace();
      }
    };
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
    if (sharded != null) {
      return sharded.subscribe(listener);
    }
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
   * One partition on a standalone or Sentinel Redis; with several (or on a cluster) {@code
   * count()} of them, a topic's partition as {@link RedisStream#partitionOf} says.
   */
  @Override
  public Partitioning partitioning() {
    return partitioning;
  }

  /**
   * {@inheritDoc}
   *
   * <p>A bus of several partitions, or on a cluster, receives nothing until told: it then
   * subscribes exactly these partitions ({@code SSUBSCRIBE} on the primary serving each, one
   * connection per primary) and unsubscribes the others. A partition needed again after it was
   * dropped starts afresh at its stream's top and tells its position again; one dropped before
   * it was live fails its future with a {@link java.util.concurrent.CancellationException}. A
   * bus of one partition on one Redis always receives everything: already complete. The future
   * completes on the bus's thread that subscribed the last of them: run what follows it on a
   * thread of your own ({@code thenRunAsync}, or wait for it there). Listeners must not call this
   * from their callbacks.
   *
   * @throws IllegalArgumentException when a partition is not one of {@code partitioning()}'s
   */
  @Override
  public CompletableFuture<Void> need(Set<Integer> partitions) {
    Objects.requireNonNull(partitions, "partitions");
    if (sharded != null) {
      return sharded.need(partitions);
    }
    for (int p : partitions) {
      Require.argument(p == 0, "partition %d of %s does not exist: it has 1", p,
          stream.namespace());
    }
    return CompletableFuture.completedFuture(null);
  }

  /**
   * The link (up, why it last went down, how often and how long), the messages dropped because
   * the stream does not hold them (malformed, forged, from another deployment publishing on the
   * same channel, or of an epoch the stream moved past: a rising count means something else
   * publishes on this channel), and the snapshot cache.
   */
  @Override
  public BusStatus status() {
    if (sharded != null) { // up when every connection the needed partitions use is
      LinkState state = sharded.state();
      return new BusStatus(state, sharded.downReason(), sharded.downs(),
          sharded.downtime(), sharded.strays(), history.cacheStats(),
          state == LinkState.UP ? writes.now() : null);
    }
    LinkState state = link.state();
    return new BusStatus(state, link.downReason(), link.downs(), link.downtime(),
        strayMessages.get(), cache == null ? SnapshotCacheStats.NONE : cache.stats(),
        state == LinkState.UP ? writes.now() : null);
  }

  /** Why a primary of this stream refuses writes now ({@link WriteRefusal}), or null. */
  private String writesRefused() {
    if (pool != null) {
      try (Jedis jedis = pool.getResource()) {
        return WriteRefusal.of(jedis.info());
      }
    }
    RedisStream layout = history.stream();
    Set<Pool<Jedis>> asked = new HashSet<>();
    for (int i = 0; i < layout.partitions(); i++) {
      Pool<Jedis> primary = nodes.knownPoolFor(layout.partition(i).slot());
      if (asked.add(primary)) {
        try (Jedis jedis = primary.getResource()) {
          String refusal = WriteRefusal.of(jedis.info());
          if (refusal != null) {
            return "the primary of partition " + i + ": " + refusal;
          }
        }
      }
    }
    return null;
  }

  /** For tests: the primaries the bus holds a sharded connection to, and what each carries. */
  Map<String, Set<Integer>> connections() {
    return sharded == null ? Map.of() : sharded.connections();
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
    if (sharded != null) {
      sharded.close();
    } else {
      link.close();
    }
    nodes.close();
    if (pool != null) {
      pool.close();
    }
  }

  /** The primaries of a cluster, or the one Redis, as the sharded receiver reaches them. */
  private ShardedReceiver.Primaries primaries() {
    if (nodes instanceof ClusterNodes cluster) {
      return new ShardedReceiver.Primaries() {
        @Override
        public ClusterTopology.Node primaryOf(int slot) {
          return cluster.topology().primaryOf(slot);
        }

        @Override
        public void refresh() {
          cluster.refresh();
        }

        @Override
        public ShardedLink.Target target(ClusterTopology.Node primary) {
          return new Target(primary.address().toString(),
              () -> endpoint.newPubSubConnection(primary.address()),
              () -> cluster.poolAt(primary.address()));
        }
      };
    }
    ClusterTopology.Node only = new ClusterTopology.Node("redis", new HostAndPort("redis", 0));
    return new ShardedReceiver.Primaries() {
      @Override
      public ClusterTopology.Node primaryOf(int slot) {
        return only;
      }

      @Override
      public void refresh() {}

      @Override
      public ShardedLink.Target target(ClusterTopology.Node primary) {
        return new Target(endpoint.toString(), endpoint::newPubSubConnection, () -> pool);
      }
    };
  }

  /** A primary's sharded connection, and its probe published through that primary's pool. */
  private record Target(String name, Supplier<PubSubConnection> connector,
      Supplier<Pool<Jedis>> pool) implements ShardedLink.Target {
    @Override
    public PubSubConnection connect() {
      return connector.get();
    }

    @Override
    public void probe(String channel) {
      Pool<Jedis> p = pool.get();
      try (Jedis jedis = p.getResource()) {
        jedis.sendCommand(Protocol.Command.SPUBLISH, channel, "p");
      } catch (JedisException e) {
        RedisEndpoint.forgetIdleAfter(e, p);
        throw e;
      }
    }

    @Override
    public String describe() {
      return name;
    }
  }

  /** The partitions' streams, as the sharded receiver reads and bridges them. */
  private final class StreamOfPartitions implements ShardedReceiver.Stream {
    @Override
    public PartitionHistory history(int partition) {
      return history.partition(partition);
    }

    @Override
    public void newEpoch(int partition, String expected) {
      publisher.newEpoch(partition, expected);
    }

    @Override
    public void checkPartitions() {
      publisher.checkPartitions();
    }
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
    private Duration mapRefresh = Duration.ofSeconds(10);
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

    /**
     * How often a node on a Redis Cluster reads the cluster's map ({@code CLUSTER SHARDS})
     * without being told it changed; default 10 s. It is read at once when the cluster says so: a
     * partition's subscription refused ({@code MOVED}) or ended because its slot moved, a
     * connection to a primary lost (a failover).
     */
    public Builder mapRefresh(Duration every) {
      this.mapRefresh = Require.positive(every, "map refresh");
      return this;
    }

    /**
     * Connections in the pool used for publishing and history reads (on a cluster, per primary);
     * default 16.
     */
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
