package dev.fanout.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fanout.core.Event;
import dev.fanout.core.EventId;
import dev.fanout.core.Subscription;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import redis.clients.jedis.Jedis;

/**
 * A node's RedisBus on a real Redis Cluster of three primaries with a replica each (one cluster
 * for the class; a failover and a reshard have their own, in
 * RedisClusterBusChangesIntegrationTest): it subscribes only what it needs, one connection per
 * primary; events arrive per partition exactly once and in order; a restart costs Redis little.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RedisClusterBusIntegrationTest {
  /** Ten merchants in seven of sixteen partitions, on all three primaries. */
  private static final List<String> TEN = IntStream.range(0, 10).mapToObj(i -> "mch_" + i * 101)
      .toList();
  private static RedisCluster cluster;

  private final List<AutoCloseable> closeables = new ArrayList<>();

  @BeforeAll
  static void startCluster() throws Exception {
    cluster = RedisCluster.start(3, 1);
  }

  @AfterAll
  static void stopCluster() {
    if (cluster != null) {
      cluster.close();
    }
  }

  @AfterEach
  void closeAll() throws Exception {
    for (int i = closeables.size() - 1; i >= 0; i--) {
      closeables.get(i).close();
    }
  }

  private <T extends AutoCloseable> T track(T c) {
    closeables.add(c);
    return c;
  }

  static RedisBus bus(RedisCluster cluster, RedisStream stream, PartitionOracle oracle) {
    return bus(cluster, stream, oracle, Duration.ofSeconds(10));
  }

  /** A bus that reads the map every {@code mapRefresh} unless the cluster says it changed. */
  static RedisBus bus(RedisCluster cluster, RedisStream stream, PartitionOracle oracle,
      Duration mapRefresh) {
    RedisBus bus = RedisBus.builder(cluster.uri(), stream).mapRefresh(mapRefresh)
        .backoff(Duration.ofMillis(50), Duration.ofMillis(500)).build();
    bus.subscribe(oracle);
    return bus;
  }

  static Set<Integer> partitionsOf(RedisStream stream, List<String> topics) {
    return topics.stream().map(stream::partitionOf).collect(Collectors.toCollection(
        TreeSet::new));
  }

  /** On each primary: how many of its clients are in sharded Pub/Sub, and each channel's. */
  private static Map<Integer, Long> shardSubscribers(RedisStream stream, int port) {
    Map<Integer, Long> out = new TreeMap<>();
    try (Jedis j = cluster.node(port)) {
      for (int p = 0; p < stream.partitions(); p++) {
        out.put(p, j.pubsubShardNumSub(stream.partition(p).channel()).values().iterator()
            .next());
      }
    }
    return out;
  }

  private static long shardedClients(int port) {
    try (Jedis j = cluster.node(port)) {
      return j.clientList().lines().filter(l -> !l.contains(" ssub=0 ")).count();
    }
  }

  @Test
  void aNodeSubscribesOnlyToThePartitionsOfTheTopicsItsConnectionsFollow() throws Exception {
    RedisStream stream = RedisStream.named("need").withPartitions(16);
    Set<Integer> ten = partitionsOf(stream, TEN);
    PartitionOracle oracle = new PartitionOracle();
    RedisBus bus = track(bus(cluster, stream, oracle));
    bus.need(ten).get(20, TimeUnit.SECONDS);
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertSubscribedExactly(stream,
        ten));
    System.out.printf("MEASURE cluster_need topics=10 partitions=%d connections=%s%n",
        ten.size(), bus.connections());

    Set<Integer> all = IntStream.range(0, 16).boxed().collect(Collectors.toSet());
    bus.need(all).get(20, TimeUnit.SECONDS);
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertSubscribedExactly(stream,
        all));
    bus.need(ten).get(20, TimeUnit.SECONDS);
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertSubscribedExactly(stream,
        ten));

    try (RedisPublisher publisher = RedisPublisher.create(cluster.uri(), stream)) {
      List<EventId> followed = new ArrayList<>();
      for (int t = 0; t < 40; t++) {
        EventId id = publisher.publish("mch_" + t, Map.of(), "{}");
        if (ten.contains(id.partition())) {
          followed.add(id);
        }
      }
      await().atMost(Duration.ofSeconds(10)).until(() -> oracle.count() == followed.size());
      assertThat(new TreeSet<>(oracle.ids())).isEqualTo(new TreeSet<>(followed));
    }
    oracle.assertNoSilentGap();
  }

  /** Each needed partition's channel has this node on its primary, and nothing else does. */
  private static void assertSubscribedExactly(RedisStream stream, Set<Integer> needed) {
    for (int port : cluster.primaryPorts()) {
      Map<Integer, Long> counts = shardSubscribers(stream, port);
      boolean carries = false;
      for (int p = 0; p < stream.partitions(); p++) {
        boolean here = cluster.primaryOf(stream.partition(p).slot()) == port;
        long expected = here && needed.contains(p) ? 1 : 0;
        carries |= expected == 1;
        assertThat(counts.get(p)).as("partition %d on %d", p, port).isEqualTo(expected);
      }
      assertThat(shardedClients(port)).as("sharded connections on %d", port)
          .isEqualTo(carries ? 1 : 0);
    }
  }

  @Test
  void eventsOfAThousandTopicsArriveOncePerPartitionInOrderWhileAPublisherPipelines()
      throws Exception {
    RedisStream stream = RedisStream.named("thousand").withPartitions(16);
    PartitionOracle oracle = new PartitionOracle();
    RedisBus bus = track(bus(cluster, stream, oracle));
    bus.need(IntStream.range(0, 16).boxed().collect(Collectors.toSet()))
        .get(20, TimeUnit.SECONDS);
    List<CompletableFuture<EventId>> futures = new ArrayList<>();
    long t0 = System.nanoTime();
    try (RedisPublisher publisher = RedisPublisher.create(cluster.uri(), stream)) {
      for (int round = 0; round < 5; round++) {
        for (int t = 0; t < 1000; t++) {
          futures.add(publisher.publishAsync("mch_" + t, Map.of("round", "r" + round),
              "{\"t\":" + t + "}"));
        }
      }
      Map<Integer, List<EventId>> acked = new HashMap<>();
      for (CompletableFuture<EventId> f : futures) {
        EventId id = f.get(30, TimeUnit.SECONDS);
        acked.computeIfAbsent(id.partition(), p -> new ArrayList<>()).add(id);
      }
      await().atMost(Duration.ofSeconds(30)).until(() -> oracle.count() == 5000);
      System.out.printf("MEASURE cluster_thousand_topics events=5000 delivered_ms=%d%n",
          TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
      assertThat(acked).hasSize(16);
      for (Map.Entry<Integer, List<EventId>> e : acked.entrySet()) {
        List<EventId> inOrder = new ArrayList<>(e.getValue());
        inOrder.sort(null);
        assertThat(oracle.ids(e.getKey())).as("partition %d", e.getKey())
            .containsExactlyElementsOf(inOrder);
      }
    }
    assertThat(oracle.discontinuities()).isEmpty();
    assertThat(bus.status().strayMessages()).isZero();
    oracle.assertNoSilentGap();
  }

  @Test
  void aRestartedNodeCostsRedisAtMostPartitionsPlusTopicsPlusAHundredCommands()
      throws Exception {
    RedisStream stream = RedisStream.named("restart").withPartitions(16);
    Set<Integer> ten = partitionsOf(stream, TEN);
    try (RedisPublisher publisher = RedisPublisher.create(cluster.uri(), stream)) {
      for (int i = 0; i < 500; i++) {
        publisher.publish(TEN.get(i % 10), Map.of("method", "card"), "{\"i\":" + i + "}");
      }
    }
    try (RedisBus before = bus(cluster, stream, new PartitionOracle())) {
      before.need(ten).get(20, TimeUnit.SECONDS);
    }
    List<Integer> primaries = cluster.primaryPorts();
    Map<String, Long> start = commandCalls(primaries);
    PartitionOracle oracle = new PartitionOracle();
    RedisBus bus = track(bus(cluster, stream, oracle));
    bus.need(ten).get(20, TimeUnit.SECONDS);
    for (int client = 0; client < 100; client++) { // ten clients per topic connect: snapshots
      String topic = TEN.get(client % 10);
      List<Event> snapshot = bus.history().latest(50, Subscription.builder().topics(topic)
          .build());
      assertThat(snapshot).hasSize(50).allMatch(e -> e.topic().equals(topic));
    }
    Map<String, Long> end = commandCalls(primaries);
    Map<String, Long> delta = new TreeMap<>();
    end.forEach((command, calls) -> {
      long d = calls - start.getOrDefault(command, 0L);
      if (d > 0) {
        delta.put(command, d);
      }
    });
    delta.merge("info", -(long) primaries.size(), Long::sum); // the first measurement's own
    long total = delta.values().stream().mapToLong(Long::longValue).sum();
    System.out.printf("MEASURE cluster_node_restart partitions=%d topics=10 commands=%d %s%n",
        ten.size(), total, delta);
    assertThat(delta.get("ssubscribe")).as("one SSUBSCRIBE per needed partition")
        .isEqualTo(ten.size());
    assertThat(total).isLessThanOrEqualTo(16 + 10 + 100);
  }

  /** Calls per command since the servers started, summed over {@code ports}. */
  static Map<String, Long> commandCalls(List<Integer> ports) {
    Map<String, Long> out = new TreeMap<>();
    for (int port : ports) {
      try (Jedis j = cluster.node(port)) {
        for (String line : j.info("commandstats").split("\r?\n")) {
          if (line.startsWith("cmdstat_")) {
            String name = line.substring("cmdstat_".length(), line.indexOf(':'));
            String calls = line.substring(line.indexOf("calls=") + 6, line.indexOf(','));
            out.merge(name, Long.parseLong(calls), Long::sum);
          }
        }
      }
    }
    return out;
  }
}
