package dev.fanout.redis;

import dev.fanout.core.Event;
import dev.fanout.core.EventId;
import dev.fanout.core.Publisher;
import dev.fanout.core.internal.Require;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.exceptions.JedisConnectionException;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.exceptions.JedisException;
import redis.clients.jedis.util.Pool;

/**
 * Publishes events to a fanout stream in Redis, for the payment service or any other producer.
 *
 * <p>Each publish is one call of the Redis Function {@code fanout_publish} on the partition of
 * its topic ({@link RedisStream#partitionOf}), which atomically takes the partition's next
 * contiguous sequence number, appends the event to the partition's stream and to its topic's
 * stream (both trimmed to the stream's retention) and publishes it on the partition's channel.
 * A stream created afresh (first publish, or Redis lost its data) starts a new epoch. Services
 * in other languages call the same function; see docs/redis.md for the {@code redis-cli} form.
 *
 * <pre>{@code
 * try (RedisPublisher p = RedisPublisher.create(URI.create("redis://127.0.0.1:6379"),
 *     RedisStream.named("payments"))) {
 *   EventId id = p.publish("mch_1", Map.of("method", "card", "paymentId", "pay_9"),
 *       "{\"paymentId\":\"pay_9\",\"status\":\"captured\"}");
 * }
 * }</pre>
 *
 * <p>On a Redis Cluster ({@code redis-cluster://}) each publish goes to the primary serving its
 * partition's slot, following the cluster when a slot moves or a replica is promoted, and the
 * function is loaded on every primary that lacks it. {@link #publishAsync} pipelines: many
 * publishes in flight per connection, ids in submission order within a partition.
 *
 * <p>The first publish checks the partition count recorded for the namespace ({@code
 * {ns}:partitions}); a publisher configured with another count refuses every publish with
 * one line naming both. Thread-safe.
 */
public final class RedisPublisher implements Publisher, AutoCloseable {
  static final String FUNCTION_SOURCE = loadFunctionSource();
  /** Default most publishes {@link #publishAsync} keeps unfinished before callers wait. */
  public static final int DEFAULT_MAX_IN_FLIGHT = 10_000;
  /** How long a publish on a cluster is retried while slots move or a primary fails over. */
  static final Duration CLUSTER_RETRY_BUDGET = Duration.ofSeconds(5);
  private static final long FULL_WAIT_NANOS = TimeUnit.SECONDS.toNanos(2);

  private final Nodes nodes;
  private final RedisStream stream;
  private final int maxInFlight;
  private final Duration retryBudget; // zero on a single Redis: one attempt, as always
  private final Replication replication;
  private final Set<Pool<Jedis>> loaded = ConcurrentHashMap.newKeySet();
  private final Object starting = new Object();
  private volatile PublishPipeline pipeline;
  private volatile boolean partitionsAccepted;
  private volatile String partitionsRefused;
  private volatile boolean closed;

  RedisPublisher(Nodes nodes, RedisStream stream, int maxInFlight) {
    this(nodes, stream, maxInFlight, Replication.NONE);
  }

  RedisPublisher(Nodes nodes, RedisStream stream, int maxInFlight, Replication replication) {
    this.nodes = nodes;
    this.replication = replication;
    this.stream = nodes.isCluster() ? stream.tagged() : stream;
    this.maxInFlight = maxInFlight;
    this.retryBudget = nodes.isCluster() ? CLUSTER_RETRY_BUDGET : Duration.ZERO;
  }

  /** A publisher with its own connections; commands time out after 2 s. */
  public static RedisPublisher create(URI redis, RedisStream stream) {
    return builder(redis, stream).build();
  }

  /** A publisher to configure; {@link #create} takes every default. */
  public static Builder builder(URI redis, RedisStream stream) {
    return new Builder(redis, stream);
  }

  /** The replicas each publish must reach before it is acknowledged; 0 when none. */
  public int minReplicas() {
    return replication.replicas();
  }

  /** How long a publish waits for {@link #minReplicas()} replicas; zero when none are required. */
  public Duration replicaTimeout() {
    return replication.timeout();
  }

  /** The stream this publishes to, in the layout its Redis needs (tagged on a cluster). */
  public RedisStream stream() {
    return stream;
  }

  /**
   * Publishes one event and waits for its id.
   *
   * @param topic the routing key (for payments, the merchant id)
   * @param attributes small string attributes subscriptions can constrain (method, status...)
   * @param data the payload as one JSON value, delivered to clients verbatim
   * <p>With {@link Builder#minReplicas} the publish is acknowledged only once that many replicas
   * hold it ({@code WAIT} on the connection that published, after the function ran); otherwise
   * it throws {@link UnconfirmedPublishException}, which carries the id and the count reached.
   *
   * @return the id Redis assigned, naming its partition ({@code <partition>.<epoch>:<seq>}) when
   *     the stream has several
   * @throws IllegalArgumentException when the topic is empty or the data is not one JSON value
   *     (checked by the publish function, which then writes nothing)
   * @throws UnconfirmedPublishException when Redis ran the publish but fewer replicas than
   *     required confirmed it within the timeout: the event has an id and may be delivered, but a
   *     failover may lose it
   * @throws FanoutRedisException when Redis cannot be reached or refuses (out of memory, cannot
   *     persist: then nothing was written), or the namespace was created with another partition
   *     count
   */
  @Override
  public EventId publish(String topic, Map<String, String> attributes, String data) {
    RedisPartition partition = prepare(topic, attributes, data);
    List<String> keys = publishKeys(partition, topic);
    List<String> args = arguments(partition, topic, attributes, data);
    if (!replication.required()) {
      return partition.eventId(EventId.parse(call(partition, "fanout_publish", keys, args)));
    }
    Confirmed c;
    try {
      c = Retry.call(nodes, partition.slot(), false, retryBudget, (jedis, node) ->
          new Confirmed(fcall(jedis, node, "fanout_publish", keys, args),
              replication.await(jedis)));
    } catch (JedisException e) {
      throw failure(e, "fanout_publish");
    }
    EventId id = partition.eventId(EventId.parse(text(c.reply())));
    if (c.reached().replicas() < replication.replicas()) {
      throw unconfirmed(id, c.reached());
    }
    return id;
  }

  /** A publish's reply and what {@code WAIT} answered after it on the same connection. */
  private record Confirmed(Object reply, Replication.Reached reached) {}

  UnconfirmedPublishException unconfirmed(EventId id, Replication.Reached reached) {
    return new UnconfirmedPublishException(stream.toString(), id, replication.replicas(),
        (int) reached.replicas(), replication.timeoutMillis(), reached.failure());
  }

  /**
   * Publishes one event without waiting: the future completes with its id. Publishes queue per
   * partition and go out pipelined, many per connection, so one caller can publish at the rate
   * Redis runs the function rather than one round trip at a time (docs/benchmarks.md).
   *
   * <p>Within a partition (so within a topic) publishes take their ids in the order this method
   * was called, also when the cluster redirects them or a slot moves: a partition has at most one
   * call on the wire, and a call runs whole or not at all. A {@link #publish} and a publishAsync
   * are ordered only through the future: call the next once the previous completed. Callbacks on
   * the future run on the publisher's thread unless an {@code *Async} variant is used: keep them
   * short. When {@link Builder#maxInFlight} publishes are unfinished, this waits up to 2 s for
   * room, then returns a failed future.
   *
   * <p>With {@link Builder#minReplicas}, each pipeline sent ends with one {@code WAIT} on its
   * connection, so a whole batch waits for the replicas once; the futures of its publishes then
   * complete with their ids, or, when fewer replicas confirmed, fail with {@link
   * UnconfirmedPublishException} (each carrying its own id).
   *
   * <p>The future fails with {@link IllegalArgumentException} when the publish function refuses
   * the data (not one JSON value), and with {@link FanoutRedisException} when Redis cannot be
   * reached or refuses; a publish that failed because its connection broke may or may not have
   * been published. This publisher never sends a publish twice.
   *
   * @throws IllegalArgumentException when the topic or attributes are invalid
   * @throws FanoutRedisException when the namespace was created with another partition count,
   *     or the first publish cannot read that count
   */
  public CompletableFuture<EventId> publishAsync(String topic, Map<String, String> attributes,
      String data) {
    RedisPartition partition = prepare(topic, attributes, data);
    PublishPipeline.Request request = new PublishPipeline.Request(partition, topic,
        new LinkedHashMap<>(attributes), data, System.nanoTime() + retryBudget.toNanos());
    return pipeline().submit(request, FULL_WAIT_NANOS);
  }

  /** Validates as the core would, and checks the namespace's partition count once. */
  private RedisPartition prepare(String topic, Map<String, String> attributes, String data) {
    Event.of(EventId.of("x", 1), topic, attributes, data);
    if (closed) {
      throw new FanoutRedisException("publisher to " + stream + " is closed");
    }
    checkPartitions();
    return stream.partitionFor(topic);
  }

  /**
   * Bridges partition 0's stream to a new epoch if its epoch is still {@code expected}: a node
   * saw the stream's top below what it had delivered.
   */
  void newEpoch(String expected) {
    newEpoch(0, expected);
  }

  /** {@link #newEpoch(String)} of partition {@code partition}. */
  void newEpoch(int partition, String expected) {
    RedisPartition p = stream.partition(partition);
    call(p, "fanout_new_epoch", List.of(p.streamKey(), p.metaKey(), p.topicsKey()),
        List.of(expected));
  }

  private static List<String> publishKeys(RedisPartition p, String topic) {
    return List.of(p.streamKey(), p.metaKey(), p.topicKey(topic), p.topicsKey());
  }

  /** Refuses (once read, for good) a namespace created with another partition count. */
  void checkPartitions() {
    if (partitionsAccepted) {
      return;
    }
    String refused = partitionsRefused;
    if (refused == null) {
      Long recorded;
      if (stream.isTagged()) {
        Object reply = callRaw(KeySlot.of(stream.partitionsKey()), "fanout_partitions",
            List.of(stream.partitionsKey(), stream.singleMetaKey()),
            List.of(Integer.toString(stream.partitions())), true);
        recorded = reply instanceof Long l ? l : Long.valueOf(String.valueOf(reply));
      } else {
        String count = read(KeySlot.of(stream.partitionsKey()),
            (jedis, node) -> jedis.hget(stream.partitionsKey(), "count"));
        recorded = count == null ? null : Long.valueOf(count);
      }
      refused = PartitionRecord.refusal(stream, recorded, "publisher");
      if (refused == null) {
        if (nodes instanceof ClusterNodes cluster) {
          loadEverywhere(cluster);
        }
        partitionsAccepted = true;
        return;
      }
      partitionsRefused = refused;
    }
    throw new FanoutRedisException(refused);
  }

  /** Loads the function on every primary now, so other languages' publishers find it. */
  private void loadEverywhere(ClusterNodes cluster) {
    for (ClusterTopology.Node primary : cluster.topology().primaries()) {
      Pool<Jedis> pool = cluster.poolAt(primary.address());
      try (Jedis jedis = pool.getResource()) {
        ensureLoaded(jedis, pool);
      } catch (JedisException e) {
        RedisEndpoint.forgetIdleAfter(e, pool); // loaded on first use instead
      }
    }
  }

  private <T> T read(int slot, Retry.Op<T> op) {
    try {
      return Retry.call(nodes, slot, true, retryBudget, op);
    } catch (JedisException e) {
      throw new FanoutRedisException("publish to " + stream + " failed: reading its partitions: "
          + nodes.endpoint().describe(e), e);
    }
  }

  /** Calls a function of fanout.lua on {@code partition}'s primary; its reply as text. */
  private String call(RedisPartition partition, String function, List<String> keys,
      List<String> args) {
    return text(callRaw(partition.slot(), function, keys, args, false));
  }

  private static String text(Object reply) {
    return reply instanceof byte[] ? new String((byte[]) reply, StandardCharsets.UTF_8)
        : String.valueOf(reply);
  }

  private Object callRaw(int slot, String function, List<String> keys, List<String> args,
      boolean idempotent) {
    try {
      return Retry.call(nodes, slot, idempotent, retryBudget,
          (jedis, node) -> fcall(jedis, node, function, keys, args));
    } catch (JedisException e) {
      throw failure(e, function);
    }
  }

  /** Calls a function, loading the library first (and again if the server lost it). */
  private Object fcall(Jedis jedis, Pool<Jedis> node, String function, List<String> keys,
      List<String> args) {
    ensureLoaded(jedis, node);
    try {
      return jedis.fcall(function, keys, args);
    } catch (JedisDataException e) {
      if (!PublishPipeline.notFound(e)) {
        throw e;
      }
      reload(jedis, node); // restarted without persistence, failed over, or a new primary
      return jedis.fcall(function, keys, args);
    }
  }

  private void ensureLoaded(Jedis jedis, Pool<Jedis> node) {
    if (!loaded.contains(node)) {
      reload(jedis, node);
    }
  }

  private void reload(Jedis jedis, Pool<Jedis> node) {
    jedis.functionLoadReplace(FUNCTION_SOURCE);
    loaded.add(node);
  }

  /** What a publish that got {@code e} throws (or fails its future with). */
  private RuntimeException failure(JedisException e, String function) {
    if (e instanceof JedisDataException d) {
      String refused = refusal(d, function);
      if (refused != null) {
        return new IllegalArgumentException(refused, e);
      }
    }
    String what = function.equals("fanout_new_epoch") ? function + " on " : "publish to ";
    String why = e instanceof JedisConnectionException ? nodes.endpoint().describe(e)
        : e.getMessage();
    String pressure = pressure(e);
    if (pressure != null) {
      return new FanoutRedisException(what + stream + " refused, nothing was written: " + pressure
          + " (" + why + ")", e);
    }
    return new FanoutRedisException(what + stream + " failed: " + why, e);
  }

  /**
   * Why Redis refuses every write for now, when it does: it is full ({@code OOM}: used memory
   * above {@code maxmemory} with {@code noeviction}) or cannot persist ({@code MISCONF}: an RDB
   * snapshot or the AOF failed); null otherwise. Redis refuses such a call before running it.
   */
  static String pressure(JedisException e) {
    String m = e.getMessage() == null ? "" : e.getMessage();
    if (m.startsWith("OOM")) {
      return "Redis is out of memory (used memory above maxmemory; docs/operations.md, Memory)";
    }
    if (m.startsWith("MISCONF")) {
      return "Redis cannot persist to disk and refuses writes until it can (MISCONF)";
    }
    return null;
  }

  /**
   * The function's own words when it refused its arguments (it writes nothing then), such as
   * "data must be one JSON value"; null for any other error.
   */
  private static String refusal(JedisDataException e, String function) {
    String m = e.getMessage();
    String prefix = function + ": ";
    int at = m == null ? -1 : m.indexOf(prefix);
    if (at < 0) {
      return null;
    }
    int end = m.indexOf(" script:", at);
    return m.substring(at + prefix.length(), end < 0 ? m.length() : end).trim();
  }

  private List<String> arguments(RedisPartition partition, String topic,
      Map<String, String> attributes, String data) {
    List<String> args = new ArrayList<>(4 + attributes.size() * 2);
    args.add(partition.channel());
    args.add(Integer.toString(stream.retention()));
    args.add(topic);
    args.add(data);
    attributes.forEach((k, v) -> {
      args.add(k);
      args.add(v);
    });
    return args;
  }

  private PublishPipeline pipeline() {
    PublishPipeline p = pipeline;
    if (p == null) {
      synchronized (starting) {
        p = pipeline;
        if (p == null) {
          p = new PublishPipeline(nodes, stream.partitions(), stream.retention(), maxInFlight,
              replication, new PublishPipeline.Calls() {
                @Override
                public void ensureLoaded(Jedis jedis, Pool<Jedis> node) {
                  RedisPublisher.this.ensureLoaded(jedis, node);
                }

                @Override
                public void reload(Jedis jedis, Pool<Jedis> node) {
                  RedisPublisher.this.reload(jedis, node);
                }

                @Override
                public RuntimeException failure(JedisException e) {
                  return RedisPublisher.this.failure(e, "fanout_publish");
                }

                @Override
                public RuntimeException unconfirmed(EventId id, Replication.Reached reached) {
                  return RedisPublisher.this.unconfirmed(id, reached);
                }
              });
          pipeline = p;
        }
      }
    }
    return p;
  }

  /**
   * Sends what {@link #publishAsync} queued (for up to 2 s; what is left then fails), then
   * closes the connections this publisher owns.
   */
  @Override
  public void close() {
    closed = true;
    PublishPipeline p;
    synchronized (starting) {
      p = pipeline;
    }
    if (p != null) {
      p.close();
    }
    nodes.close();
  }

  private static String loadFunctionSource() {
    try (InputStream in = RedisPublisher.class.getResourceAsStream("fanout.lua")) {
      if (in == null) {
        throw new IllegalStateException("fanout.lua missing from the fanout-redis jar");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Builds a {@link RedisPublisher}; every setting has a default and is validated eagerly. */
  public static final class Builder {
    private final RedisEndpoint endpoint;
    private final RedisStream stream;
    private int poolSize = 8;
    private int maxInFlight = DEFAULT_MAX_IN_FLIGHT;
    private Replication replication = Replication.NONE;

    private Builder(URI redis, RedisStream stream) {
      this.stream = Objects.requireNonNull(stream, "stream");
      this.endpoint = RedisEndpoint.parse(redis, Duration.ofSeconds(2));
    }

    /**
     * Acknowledges a publish only once {@code replicas} replicas hold it: after the publish,
     * {@code WAIT replicas timeout} on the same connection (one per pipeline for {@link
     * #publishAsync}). What it could not confirm within {@code timeout} fails with {@link
     * UnconfirmedPublishException}, naming the id and the count reached. 0 (the default)
     * acknowledges when the primary ran it, as Redis replicates asynchronously.
     */
    public Builder minReplicas(int replicas, Duration timeout) {
      this.replication = replication(replicas, timeout);
      return this;
    }

    static Replication replication(int replicas, Duration timeout) {
      Require.notNegative(replicas, "min replicas");
      if (replicas == 0) {
        return Replication.NONE;
      }
      Objects.requireNonNull(timeout, "replica timeout");
      Require.argument(timeout.toMillis() >= 1, "the replica timeout must be at least 1 ms "
          + "(WAIT with 0 would wait forever), got %s", timeout);
      return new Replication(replicas, timeout);
    }

    /** Connections per Redis server for {@link #publish} (each pipeline lane takes one); 8. */
    public Builder poolSize(int size) {
      this.poolSize = Require.positive(size, "pool size");
      return this;
    }

    /**
     * Most publishes {@link #publishAsync} keeps unfinished (queued or on the wire) before a
     * caller waits; default {@value RedisPublisher#DEFAULT_MAX_IN_FLIGHT}.
     */
    public Builder maxInFlight(int publishes) {
      this.maxInFlight = Require.positive(publishes, "max in flight");
      return this;
    }

    /** A publisher; it connects on its first publish. */
    public RedisPublisher build() {
      return new RedisPublisher(Nodes.of(endpoint, poolSize), stream, maxInFlight, replication);
    }
  }
}
