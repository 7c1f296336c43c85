package dev.fanout.redis;

import dev.fanout.core.Event;
import dev.fanout.core.EventId;
import dev.fanout.core.Publisher;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.util.Pool;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.exceptions.JedisException;

/**
 * Publishes events to a fanout stream in Redis, for the payment service or any other producer.
 *
 * <p>Each publish is one call of the Redis Function {@code fanout_publish}, which atomically takes
 * the next contiguous sequence number, appends the event to the stream and to its topic's stream
 * (both trimmed to the stream's retention) and publishes it on the channel. A stream created
 * afresh (first publish, or Redis lost its data) starts a new epoch. Services in other languages
 * call the same function; see docs/redis.md for the {@code redis-cli} form.
 *
 * <pre>{@code
 * try (RedisPublisher p = RedisPublisher.create(URI.create("redis://127.0.0.1:6379"),
 *     RedisStream.named("payments"))) {
 *   EventId id = p.publish("mch_1", Map.of("method", "card", "paymentId", "pay_9"),
 *       "{\"paymentId\":\"pay_9\",\"status\":\"captured\"}");
 * }
 * }</pre>
 *
 * <p>Thread-safe.
 */
public final class RedisPublisher implements Publisher, AutoCloseable {
  static final String FUNCTION_SOURCE = loadFunctionSource();

  private final Pool<Jedis> pool;
  private final PoolOwner poolOwner;
  private final RedisStream stream;
  private volatile boolean functionLoaded;

  RedisPublisher(Pool<Jedis> pool, PoolOwner poolOwner, RedisStream stream) {
    this.pool = pool;
    this.poolOwner = poolOwner;
    this.stream = stream;
  }

  /** A publisher with its own connection pool; commands time out after 2 s. */
  public static RedisPublisher create(URI redis, RedisStream stream) {
    Objects.requireNonNull(stream, "stream");
    return new RedisPublisher(RedisEndpoint.parse(redis, Duration.ofSeconds(2)).newPool(8),
        PoolOwner.THIS,
        stream);
  }

  /**
   * Publishes one event.
   *
   * @param topic the routing key (for payments, the merchant id)
   * @param attributes small string attributes subscriptions can constrain (method, status...)
   * @param data the payload as one JSON value, delivered to clients verbatim
   * @return the id Redis assigned
   * @throws IllegalArgumentException when the topic is empty or the data is not one JSON value
   *     (checked by the publish function, which then writes nothing)
   * @throws FanoutRedisException when Redis cannot be reached or refuses
   */
  @Override
  public EventId publish(String topic, Map<String, String> attributes, String data) {
    List<String> args = arguments(topic, attributes, data);
    List<String> keys = List.of(stream.streamKey(), stream.metaKey(), stream.topicKey(topic),
        stream.topicsKey());
    return EventId.parse(call("fanout_publish", keys, args));
  }

  /**
   * Bridges the stream to a new epoch if its epoch is still {@code expected}: a node saw the
   * stream's top below what it had delivered.
   */
  void newEpoch(String expected) {
    call("fanout_new_epoch", List.of(stream.streamKey(), stream.metaKey(), stream.topicsKey()),
        List.of(expected));
  }

  /** Calls a function of fanout.lua, loading the library first (and again if Redis lost it). */
  private String call(String function, List<String> keys, List<String> args) {
    try (Jedis jedis = pool.getResource()) {
      if (!functionLoaded) {
        loadFunction(jedis);
      }
      Object reply;
      try {
        reply = jedis.fcall(function, keys, args);
      } catch (JedisDataException e) {
        String refused = refusal(e, function);
        if (refused != null) {
          throw new IllegalArgumentException(refused, e);
        }
        if (e.getMessage() == null || !e.getMessage().contains("Function not found")) {
          throw e;
        }
        loadFunction(jedis); // Redis restarted without persistence: functions are gone too
        reply = jedis.fcall(function, keys, args);
      }
      return reply instanceof byte[] ? new String((byte[]) reply, StandardCharsets.UTF_8)
          : String.valueOf(reply);
    } catch (JedisException e) {
      RedisEndpoint.forgetIdleAfter(e, pool);
      throw new FanoutRedisException((function.equals("fanout_publish") ? "publish to "
          : function + " on ") + stream + " failed: " + e.getMessage(), e);
    }
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

  private List<String> arguments(String topic, Map<String, String> attributes, String data) {
    // Validate as the core would, before Redis is touched.
    Event.of(EventId.of("x", 1), topic, attributes, data);
    List<String> args = new ArrayList<>(4 + attributes.size() * 2);
    args.add(stream.channel());
    args.add(Integer.toString(stream.retention()));
    args.add(topic);
    args.add(data);
    attributes.forEach((k, v) -> {
      args.add(k);
      args.add(v);
    });
    return args;
  }

  private void loadFunction(Jedis jedis) {
    jedis.functionLoadReplace(FUNCTION_SOURCE);
    functionLoaded = true;
  }

  @Override
  public void close() {
    if (poolOwner == PoolOwner.THIS) {
      pool.close();
    }
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
}
