package dev.fanout.redis;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.util.Pool;

/**
 * A Redis Cluster as fanout sees it: its {@link ClusterTopology}, read with {@code CLUSTER
 * SHARDS} from a primary it knows or from the URI's seeds, and one pool per server. The topology
 * is read again when the cluster says it changed ({@link #refresh}: a MOVED reply, a primary
 * that no longer answers), at most once per {@value #MIN_REFRESH_MILLIS} ms however many callers
 * ask. Thread-safe.
 */
final class ClusterNodes implements Nodes {
  private static final Logger log = LoggerFactory.getLogger(ClusterNodes.class);
  static final long MIN_REFRESH_MILLIS = 50;

  private final RedisEndpoint endpoint;
  private final int poolSize;
  private final Map<HostAndPort, Pool<Jedis>> pools = new ConcurrentHashMap<>();
  private final Object refreshing = new Object();
  private volatile ClusterTopology topology;
  private volatile long refreshedAt;
  private volatile boolean closed;

  ClusterNodes(RedisEndpoint endpoint, int poolSize) {
    this.endpoint = endpoint;
    this.poolSize = poolSize;
    this.refreshedAt = System.nanoTime() - TimeUnit.HOURS.toNanos(1);
  }

  /** The topology as last read; reads it first when none was. */
  ClusterTopology topology() {
    ClusterTopology t = topology;
    if (t == null) {
      synchronized (refreshing) {
        if (topology == null) {
          read();
        }
        t = topology;
      }
    }
    return t;
  }

  @Override
  public Pool<Jedis> poolFor(int slot) {
    ClusterTopology.Node primary = topology().primaryOf(slot);
    if (primary == null) {
      refresh();
      primary = topology().primaryOf(slot);
      if (primary == null) {
        throw new FanoutRedisException("no primary of the Redis cluster at " + endpoint
            + " serves slot " + slot + " (the cluster is down or being changed)");
      }
    }
    return poolAt(primary.address());
  }

  @Override
  public Pool<Jedis> knownPoolFor(int slot) {
    ClusterTopology t = topology;
    ClusterTopology.Node primary = t == null ? null : t.primaryOf(slot);
    return primary == null || closed ? null : poolAt(primary.address());
  }

  @Override
  public Pool<Jedis> poolAt(HostAndPort address) {
    if (closed) {
      throw new FanoutRedisException("the connections to " + endpoint + " are closed");
    }
    return pools.computeIfAbsent(address, a -> endpoint.newPool(a, poolSize));
  }

  @Override
  public void refresh() {
    long before = System.nanoTime();
    synchronized (refreshing) {
      if (refreshedAt - before > 0 // another caller read it while this one waited
          || System.nanoTime() - refreshedAt < TimeUnit.MILLISECONDS.toNanos(MIN_REFRESH_MILLIS)) {
        return;
      }
      read();
    }
  }

  /** Reads the topology from the primaries known so far, then the seeds. */
  private void read() {
    List<HostAndPort> sources = new ArrayList<>();
    ClusterTopology previous = topology;
    if (previous != null) {
      for (ClusterTopology.Node n : previous.primaries()) {
        sources.add(n.address());
        for (ClusterTopology.Node r : previous.replicasOf(n)) {
          sources.add(r.address());
        }
      }
    }
    for (HostAndPort seed : endpoint.seeds()) {
      if (!sources.contains(seed)) {
        sources.add(seed);
      }
    }
    try {
      ClusterTopology next = endpoint.readTopology(sources, false);
      if (previous == null || !next.toString().equals(previous.toString())) {
        log.debug("Redis cluster {}: {}", endpoint, next);
      }
      topology = next;
    } finally {
      refreshedAt = System.nanoTime();
    }
  }

  @Override
  public boolean isCluster() {
    return true;
  }

  @Override
  public RedisEndpoint endpoint() {
    return endpoint;
  }

  @Override
  public void close() {
    closed = true;
    for (Pool<Jedis> pool : pools.values()) {
      try {
        pool.close();
      } catch (RuntimeException e) {
        log.debug("closing a pool failed", e);
      }
    }
    pools.clear();
  }
}
