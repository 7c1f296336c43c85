package dev.fanout.redis;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.exceptions.JedisAskDataException;
import redis.clients.jedis.exceptions.JedisConnectionException;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.exceptions.JedisMovedDataException;
import redis.clients.jedis.exceptions.JedisRedirectionException;
import redis.clients.jedis.util.Pool;

/**
 * What a cluster's refusal means for the command it refused, which was not executed: go to the
 * slot's new primary ({@link #MOVED}), ask the node a slot is moving to ({@link #ASK}), or try the
 * same again a little later ({@link #LATER}); or nothing to retry ({@link #NONE}).
 */
enum Retry {
  /** The slot is served by another primary now: learn the topology, go there. */
  MOVED,
  /** The slot is moving and the keys are on the target: ask it, once, with ASKING. */
  ASK,
  /**
   * The cluster cannot run it now (TRYAGAIN: a slot's keys half moved; CLUSTERDOWN; a primary
   * still loading or demoted; a script that met a key of its slot not yet moved): back off, learn
   * the topology, try again.
   */
  LATER,
  /** An answer: an error of the command itself, or success. */
  NONE;

  /** A command on a connection to {@code node}. */
  @FunctionalInterface
  interface Op<T> {
    T run(Jedis jedis, Pool<Jedis> node);
  }

  private static final long FIRST_BACKOFF_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
  private static final long MAX_BACKOFF_NANOS = TimeUnit.MILLISECONDS.toNanos(200);

  /** What {@code e}, a reply of a cluster node, means. */
  static Retry of(JedisDataException e) {
    if (e instanceof JedisMovedDataException) {
      return MOVED;
    }
    if (e instanceof JedisAskDataException) {
      return ASK;
    }
    String m = e.getMessage() == null ? "" : e.getMessage();
    if (m.startsWith("EXECABORT")) { // a MULTI whose commands a redirection refused
      for (Throwable s : e.getSuppressed()) {
        if (s instanceof JedisDataException d && of(d) != NONE) {
          return of(d);
        }
      }
      return NONE;
    }
    if (m.startsWith("TRYAGAIN") || m.startsWith("CLUSTERDOWN") || m.startsWith("LOADING")
        || m.startsWith("MASTERDOWN") || m.startsWith("READONLY")
        || m.contains("Script attempted to access a non local key")
        || m.contains("while the cluster is down")) {
      return LATER;
    }
    return NONE;
  }

  /** The node a MOVED or ASK names (inside an EXECABORT too); null for others. */
  static HostAndPort target(JedisDataException e) {
    if (e instanceof JedisRedirectionException r) {
      return r.getTargetNode();
    }
    for (Throwable s : e.getSuppressed()) {
      if (s instanceof JedisRedirectionException r) {
        return r.getTargetNode();
      }
    }
    return null;
  }

  /**
   * Runs {@code op} on the server of {@code slot}. On a cluster it follows MOVED and ASK, and
   * tries again after TRYAGAIN, CLUSTERDOWN and the like, and after a connection that could not
   * be made (nothing was sent), for at most {@code budget}; a connection lost once {@code op}
   * began is tried again only when {@code idempotent}. A single Redis gets one attempt, as
   * before clusters. Whatever is left is thrown as Jedis threw it.
   */
  static <T> T call(Nodes nodes, int slot, boolean idempotent, Duration budget,
      Op<T> op) {
    boolean cluster = nodes.isCluster();
    long deadline = System.nanoTime() + budget.toNanos();
    long backoff = FIRST_BACKOFF_NANOS;
    Pool<Jedis> pool = nodes.poolFor(slot);
    boolean asking = false;
    while (true) {
      Jedis jedis;
      try {
        jedis = pool.getResource();
      } catch (JedisConnectionException e) { // nothing was sent
        RedisEndpoint.forgetIdleAfter(e, pool);
        if (!cluster || System.nanoTime() - deadline > 0) {
          throw e;
        }
        backoff = pause(backoff);
        nodes.refresh();
        pool = nodes.poolFor(slot);
        asking = false;
        continue;
      }
      try (jedis) {
        if (asking) {
          jedis.asking();
        }
        return op.run(jedis, pool);
      } catch (JedisConnectionException e) {
        RedisEndpoint.forgetIdleAfter(e, pool);
        if (!cluster || !idempotent || System.nanoTime() - deadline > 0) {
          throw e;
        }
        backoff = pause(backoff);
        nodes.refresh();
        pool = nodes.poolFor(slot);
        asking = false;
      } catch (JedisDataException e) {
        Retry retry = of(e);
        if (!cluster || retry == NONE || System.nanoTime() - deadline > 0) {
          throw e;
        }
        asking = retry == ASK;
        if (retry == MOVED || retry == ASK) {
          if (retry == MOVED) {
            nodes.refresh();
          }
          HostAndPort target = target(e);
          pool = target != null ? nodes.poolAt(target) : nodes.poolFor(slot);
        } else {
          backoff = pause(backoff);
          nodes.refresh();
          pool = nodes.poolFor(slot);
        }
      }
    }
  }

  /** Waits {@code backoff} (a retry's pause, not a test's) and returns the next one. */
  static long pause(long backoff) {
    LockSupport.parkNanos(backoff);
    return Math.min(MAX_BACKOFF_NANOS, backoff * 2);
  }

  static long firstBackoffNanos() {
    return FIRST_BACKOFF_NANOS;
  }
}
