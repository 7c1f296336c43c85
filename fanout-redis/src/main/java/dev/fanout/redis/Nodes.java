package dev.fanout.redis;

import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.util.Pool;

/**
 * Where the commands of a slot go: the one Redis of a standalone or Sentinel endpoint ({@link
 * #single}), or the primary serving the slot in a cluster ({@link ClusterNodes}). Each server has
 * one pool, so a pool names its server.
 */
interface Nodes extends AutoCloseable {

  /** The pool of the server that serves {@code slot} now, as far as this side knows. */
  Pool<Jedis> poolFor(int slot);

  /**
   * The pool of the server that serves {@code slot} as far as this side knows, without asking
   * the cluster: null when no primary is known to serve it.
   */
  Pool<Jedis> knownPoolFor(int slot);

  /** The pool of the server at {@code address} (a MOVED or ASK reply names it). */
  Pool<Jedis> poolAt(HostAndPort address);

  /**
   * The server moved on (a MOVED reply, a failover, a connection refused): learn the topology
   * again, unless it was learnt moments ago. Nothing to learn for a single Redis.
   */
  void refresh();

  /** Whether the servers are a Redis Cluster (redirections and retries apply). */
  boolean isCluster();

  /** The endpoint, for messages. */
  RedisEndpoint endpoint();

  /** Closes the pools this owns. */
  @Override
  void close();

  /** The one Redis behind {@code pool}; closing closes the pool when {@code owner} is THIS. */
  static Nodes single(RedisEndpoint endpoint, Pool<Jedis> pool, PoolOwner owner) {
    return new Nodes() {
      @Override
      public Pool<Jedis> poolFor(int slot) {
        return pool;
      }

      @Override
      public Pool<Jedis> knownPoolFor(int slot) {
        return pool;
      }

      @Override
      public Pool<Jedis> poolAt(HostAndPort address) {
        return pool;
      }

      @Override
      public void refresh() {}

      @Override
      public boolean isCluster() {
        return false;
      }

      @Override
      public RedisEndpoint endpoint() {
        return endpoint;
      }

      @Override
      public void close() {
        if (owner == PoolOwner.THIS) {
          pool.close();
        }
      }
    };
  }

  /** The nodes of {@code endpoint}: a cluster's primaries, or its one Redis. */
  static Nodes of(RedisEndpoint endpoint, int poolSize) {
    return endpoint.isCluster() ? new ClusterNodes(endpoint, poolSize)
        : single(endpoint, endpoint.newPool(poolSize), PoolOwner.THIS);
  }
}
