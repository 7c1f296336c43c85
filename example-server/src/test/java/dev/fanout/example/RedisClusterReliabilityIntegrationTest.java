package dev.fanout.example;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fanout.redis.RedisCluster;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import redis.clients.jedis.Jedis;

/**
 * The reliability rig on a Redis Cluster (three primaries with a replica each, six
 * redis-server processes) whose stream has 16 partitions: two example-server nodes subscribe
 * only to the partitions their clients follow ({@code PUBSUB SHARDNUMSUB} on every primary), and
 * 200 clients that follow a few merchants or all of them, dropped at random and resuming by the
 * clients' rule (a position over partitions), get every event of their merchants exactly once and
 * in order per partition. Set -Dfanout.cluster.events=N for a longer run (docs/benchmarks.md).
 */
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class RedisClusterReliabilityIntegrationTest {
  static final int PARTITIONS = 16;
  static final int NARROW = 60; // clients of the first ten merchants only
  static final int CLIENTS = ReliabilityIntegrationTest.CLIENTS;
  static final int RATE = ReliabilityIntegrationTest.RATE;
  static final int EVENTS = Integer.getInteger("fanout.cluster.events", 4_500);

  private RedisCluster redis;
  private Cluster cluster;

  @AfterEach
  void close() throws Exception {
    if (cluster != null) {
      cluster.close();
    }
    if (redis != null) {
      redis.close();
    }
  }

  @Test
  void nodesSubscribeOnlyTheirClientsPartitionsAndRandomDropsLoseNothingPerTopic()
      throws Exception {
    redis = RedisCluster.start(3, 1);
    cluster = new Cluster(redis, PARTITIONS);

    List<Dashboard> narrow = cluster.addClients(NARROW, 0, 10);
    Set<Integer> followed = new TreeSet<>();
    for (Dashboard d : narrow) {
      d.merchants.forEach(m -> followed.add(cluster.stream.partitionOf(m)));
    }
    assertThat(followed).as("ten merchants are in a few of the 16 partitions").hasSizeBetween(2,
        10);
    // each node's subscriptions are live once its clients were answered
    Map<Integer, Long> subscribers = shardSubscribers();
    System.out.printf("MEASURE cluster_subscriptions followed=%s subscribed=%s%n", followed,
        subscribers);
    assertThat(subscribers.keySet()).as("partitions subscribed on the primaries")
        .isEqualTo(followed);
    assertThat(subscribers.values()).as("at most one subscription per node").allMatch(n -> n <= 2);

    cluster.startScenario(CLIENTS - NARROW, RATE, EVENTS); // all merchants now, every 20th all
    await().atMost(Duration.ofSeconds(30))
        .until(() -> shardSubscribers().size() == PARTITIONS);
    Verdict v = cluster.finishScenario("cluster_random_drops", EVENTS);
    assertThat(v.perfect()).as(v.toString()).isTrue();
    assertThat(v.unexplainedResets).isZero();
    assertThat(v.delivered).as(v.toString()).isGreaterThan(EVENTS);
  }

  /**
   * A primary is SIGKILLed after its replica stopped replicating (a second of events lost with
   * it), and the replica is promoted under load: its partitions start new epochs; the clients
   * that follow one of them are told (a reset) before anything else, and the clients that follow
   * only other partitions see nothing at all: no reset, not even a resync that recovered, nothing
   * lost.
   */
  @Test
  void aPrimaryLostWithItsTailResetsOnlyTheClientsOfItsPartitions() throws Exception {
    redis = RedisCluster.start(3, 1);
    cluster = new Cluster(redis, PARTITIONS);
    cluster.startScenario(CLIENTS, RATE, EVENTS);
    int victim = redis.primaryOf(cluster.stream.partition(0).slot());
    Set<Integer> lost = new TreeSet<>();
    for (int p = 0; p < PARTITIONS; p++) {
      if (redis.primaryOf(cluster.stream.partition(p).slot()) == victim) {
        lost.add(p);
      }
    }
    redis.killPrimaryLosingTail(victim,
        () -> cluster.awaitPublished(cluster.published.get() + RATE)); // a second of events
    await().atMost(Duration.ofSeconds(30)).until(() -> cluster.redisUp());
    Verdict v = cluster.finishScenario("cluster_failover_losing_tail",
        cluster.published.get() + EVENTS / 3);

    assertThat(v.exactOrAnnounced()).as(v.toString()).isTrue();
    int told = 0;
    int untouched = 0;
    for (Dashboard d : cluster.clients) {
      boolean followsLost = d.merchants.isEmpty()
          || d.merchants.stream().anyMatch(m -> lost.contains(cluster.stream.partitionOf(m)));
      if (followsLost) {
        told += d.resets().isEmpty() ? 0 : 1;
      } else {
        assertThat(d.resets()).as("a client of %s only, the lost partitions %s", d.merchants,
            lost).isEmpty();
        assertThat(d.serverAnswers.get()).as("not even resynchronized: %s", d.merchants)
            .isZero();
        untouched++;
      }
    }
    System.out.printf("MEASURE cluster_failover lost_partitions=%s told=%d untouched=%d%n", lost,
        told, untouched);
    assertThat(told).as("clients of the lost partitions were told").isPositive();
    assertThat(untouched).as("clients of other partitions only").isPositive();
  }

  /** Per partition with subscribers: how many, summed over the primaries. */
  private Map<Integer, Long> shardSubscribers() {
    Map<Integer, Long> out = new TreeMap<>();
    for (int port : redis.primaryPorts()) {
      try (Jedis j = redis.node(port)) {
        for (int p = 0; p < PARTITIONS; p++) {
          long n = j.pubsubShardNumSub(cluster.stream.partition(p).channel()).values()
              .iterator().next();
          if (n > 0) {
            out.merge(p, n, Long::sum);
          }
        }
      }
    }
    return out;
  }
}
