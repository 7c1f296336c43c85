package dev.fanout.spring;

import dev.fanout.core.Bus;
import dev.fanout.redis.RedisBus;
import dev.fanout.redis.RedisStream;

/**
 * The Redis stream of {@code fanout.redis-uri}. Apart, so that the auto-configuration loads
 * fanout-redis (and Jedis) only when a Redis URI is set: both are optional dependencies.
 */
final class RedisStreams {
  private RedisStreams() {}

  static Bus open(FanoutProperties props) {
    Integer partitions = props.getRedis().getPartitions();
    RedisStream stream = RedisStream.named(props.getNamespace()).withRetention(props.getRetention())
        .withPartitions(partitions != null ? partitions
            : RedisStream.defaultPartitions(props.getRedisUri()));
    // one clear line if it cannot work at all, or the namespace has another partition count
    RedisBus.check(props.getRedisUri(), stream);
    long cacheBytes = props.getSnapshotCache().toBytes();
    return RedisBus.builder(props.getRedisUri(), stream)
        .snapshotCache(cacheBytes == 0 ? 0
            : Math.max(RedisBus.DEFAULT_CACHE_PER_TOPIC, props.getSnapshotSize()),
            Math.max(1, cacheBytes))
        .minReplicas(props.getRedis().getMinReplicas(), props.getRedis().getReplicaTimeout())
        .build();
  }
}
