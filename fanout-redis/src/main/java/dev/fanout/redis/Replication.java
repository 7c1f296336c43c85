package dev.fanout.redis;

import java.time.Duration;
import redis.clients.jedis.Connection;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.exceptions.JedisException;

/**
 * How many replicas must hold a publish before it is acknowledged, and how long to wait for them
 * ({@code WAIT replicas timeout} on the connection that published). {@link #NONE}: acknowledged
 * when the primary ran it.
 */
record Replication(int replicas, Duration timeout) {
  static final Replication NONE = new Replication(0, Duration.ZERO);

  boolean required() {
    return replicas > 0;
  }

  long timeoutMillis() {
    return timeout.toMillis();
  }

  /**
   * The connection's read timeout while a {@code WAIT} is in flight: its own plus the wait, so the
   * socket does not give up before Redis answers. Returns the timeout to restore.
   */
  int extend(Jedis jedis) {
    Connection c = jedis.getConnection();
    int before = c.getSoTimeout();
    c.setSoTimeout((int) Math.min(Integer.MAX_VALUE, before + timeoutMillis()));
    return before;
  }

  /** Restores the timeout {@link #extend} returned, unless the connection is gone. */
  static void restore(Jedis jedis, int timeout) {
    try {
      jedis.getConnection().setSoTimeout(timeout);
    } catch (JedisException e) {
      // broken: the pool drops it
    }
  }

  /**
   * Waits on {@code jedis} (after its publish) for the replicas; the count reached, or -1 with
   * the reason when {@code WAIT} gave no answer.
   */
  Reached await(Jedis jedis) {
    int before = extend(jedis);
    try {
      return new Reached(jedis.waitReplicas(replicas, timeoutMillis()), null);
    } catch (JedisException e) {
      return new Reached(-1, e);
    } finally {
      restore(jedis, before);
    }
  }

  /** What a {@code WAIT} answered: the replicas reached, or -1 and why there is no count. */
  record Reached(long replicas, JedisException failure) {}
}
