package dev.fanout.redis;

import java.net.URI;
import java.time.Duration;
import java.util.Objects;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisClientConfig;
import redis.clients.jedis.JedisPool;
import redis.clients.jedis.JedisPoolConfig;
import redis.clients.jedis.util.JedisURIHelper;

/** Where Redis is and how to talk to it: a pool for commands, fresh connections for Pub/Sub. */
final class RedisEndpoint {
  final HostAndPort address;
  final JedisClientConfig config;

  private RedisEndpoint(HostAndPort address, JedisClientConfig config) {
    this.address = address;
    this.config = config;
  }

  /** Parses {@code redis://[user:password@]host:port[/db]}; command timeout {@code timeout}. */
  static RedisEndpoint parse(URI uri, Duration timeout) {
    Objects.requireNonNull(uri, "uri");
    if (!JedisURIHelper.isValid(uri) || !JedisURIHelper.isRedisScheme(uri)) {
      throw new IllegalArgumentException("Redis URI must look like redis://host:port, got " + uri);
    }
    DefaultJedisClientConfig.Builder b = DefaultJedisClientConfig.builder()
        .connectionTimeoutMillis((int) timeout.toMillis())
        .socketTimeoutMillis((int) timeout.toMillis())
        .clientName("fanout");
    String user = JedisURIHelper.getUser(uri);
    String password = JedisURIHelper.getPassword(uri);
    if (user != null) {
      b.user(user);
    }
    if (password != null) {
      b.password(password);
    }
    if (JedisURIHelper.hasDbIndex(uri)) {
      b.database(JedisURIHelper.getDBIndex(uri));
    }
    return new RedisEndpoint(JedisURIHelper.getHostAndPort(uri), b.build());
  }

  JedisPool newPool(int maxConnections) {
    JedisPoolConfig pool = new JedisPoolConfig();
    pool.setMaxTotal(maxConnections);
    pool.setMaxIdle(maxConnections);
    pool.setMaxWait(Duration.ofMillis(config.getSocketTimeoutMillis()));
    pool.setJmxEnabled(false);
    return new JedisPool(pool, address, config);
  }

  /** A connection of its own, outside the pool, for a blocking subscribe. */
  Jedis newConnection() {
    return new Jedis(address, config);
  }

  @Override
  public String toString() {
    return address.toString();
  }
}
