package dev.fanout.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fanout.core.Event;
import dev.fanout.core.EventId;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.StreamEntryID;
import redis.clients.jedis.resps.StreamEntry;

/**
 * A node's RedisBus on a Redis Cluster that changes under load: a primary SIGKILLed after events
 * its replica never got (its replica promoted), a partition's slot moved to another primary.
 * Each test has a cluster of its own (three primaries with a replica each).
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class RedisClusterBusChangesIntegrationTest {
  private static final Set<Integer> ALL = IntStream.range(0, 16).boxed()
      .collect(Collectors.toSet());
  /** The node reads the map on its own less often than a test lasts: only when told. */
  private static final Duration UNTOLD = Duration.ofSeconds(120);

  /**
   * Pipelined publishing of 1,000 topics at about {@code perSecond} events a second, never
   * waiting for a publish (a partition that fails over must not hold the others back); records
   * every id Redis acknowledged with its payload.
   */
  static final class Load implements AutoCloseable {
    private final RedisPublisher publisher;
    private final Map<EventId, String> acked = new ConcurrentHashMap<>();
    private final AtomicInteger failed = new AtomicInteger();
    private final Thread thread;
    private final long pauseNanos;
    private volatile boolean stop;

    Load(RedisPublisher publisher, int perSecond) {
      this.publisher = publisher;
      this.pauseNanos = TimeUnit.SECONDS.toNanos(1) * 10 / perSecond;
      this.thread = new Thread(this::run, "test-load");
      thread.start();
    }

    private void run() {
      int i = 0;
      while (!stop) {
        for (int n = 0; n < 10; n++, i++) {
          String data = "{\"i\":" + i + "}";
          try {
            publisher.publishAsync("mch_" + (i % 1000), Map.of(), data).whenComplete(
                (id, e) -> {
                  if (id != null) {
                    acked.put(id, data);
                  } else {
                    failed.incrementAndGet();
                  }
                });
          } catch (RuntimeException e) {
            failed.incrementAndGet();
          }
        }
        LockSupport.parkNanos(pauseNanos); // the load's pace, not a synchronization
      }
    }

    int count() {
      return acked.size();
    }

    Map<EventId, String> acked() {
      return new HashMap<>(acked);
    }

    @Override
    public void close() throws InterruptedException {
      stop = true;
      thread.join(10_000);
    }
  }

  /** Partition {@code p}'s stream as its primary holds it: id (as named) -> payload. */
  private static Map<EventId, String> stored(RedisCluster cluster, RedisStream stream, int p) {
    RedisPartition partition = stream.partition(p);
    Map<EventId, String> out = new HashMap<>();
    try (Jedis j = cluster.node(cluster.primaryOf(partition.slot()))) {
      for (StreamEntry e : j.xrange(partition.streamKey(), StreamEntryID.MINIMUM_ID,
          StreamEntryID.MAXIMUM_ID)) {
        Event event = RedisHistory.toEvent(e, partition);
        out.put(event.id(), event.data());
      }
    }
    return out;
  }

  private static Set<Integer> partitionsOn(RedisCluster cluster, RedisStream stream, int port) {
    Set<Integer> out = new TreeSet<>();
    for (int p = 0; p < stream.partitions(); p++) {
      if (cluster.primaryOf(stream.partition(p).slot()) == port) {
        out.add(p);
      }
    }
    return out;
  }

  @Test
  void aPrimaryKilledUnderLoadStartsNewEpochsForItsPartitionsAloneAndReportsEveryLoss()
      throws Exception {
    RedisStream stream = RedisStream.named("failover").withPartitions(16);
    try (RedisCluster cluster = RedisCluster.start(3, 1)) {
      PartitionOracle oracle = new PartitionOracle();
      try (RedisBus bus = RedisClusterBusIntegrationTest.bus(cluster, stream, oracle, UNTOLD);
          RedisPublisher publisher = RedisPublisher.create(cluster.uri(), stream)) {
        bus.need(ALL).get(20, TimeUnit.SECONDS);
        int victim = cluster.primaryPorts().get(0);
        Set<Integer> victims = partitionsOn(cluster, stream, victim);
        Map<Integer, String> epochBefore = new HashMap<>();
        Map<EventId, String> tail = new ConcurrentHashMap<>();
        Map<EventId, String> acked;
        try (Load load = new Load(publisher, 2000)) {
          await().atMost(Duration.ofSeconds(20)).until(() -> load.count() > 2000);
          for (int p : victims) {
            String topic = PartitionedHistoryIntegrationTest.topicsOf(stream, p, 1).get(0);
            epochBefore.put(p, publisher.publish(topic, Map.of(), "{}").epoch());
          }
          long killed = System.nanoTime();
          int promoted = cluster.killPrimaryLosingTail(victim, () -> {
            for (int p : victims) { // they reach the primary, and this node, only
              String topic = PartitionedHistoryIntegrationTest.topicsOf(stream, p, 1).get(0);
              for (int i = 0; i < 3; i++) {
                String data = "{\"lost\":" + i + "}";
                tail.put(publisher.publish(topic, Map.of(), data), data);
              }
            }
            await().atMost(Duration.ofSeconds(3)).until(() -> tail.keySet().stream()
                .allMatch(oracle::delivered));
          });
          long promotedAt = System.nanoTime();
          int others = othersDelivered(oracle, victims);
          // every victim partition goes on in a new epoch, on the promoted replica
          await().atMost(Duration.ofSeconds(30)).until(() -> victims.stream().allMatch(p -> {
            List<EventId> ids = oracle.ids(p);
            return !ids.get(ids.size() - 1).epoch().equals(epochBefore.get(p));
          }));
          System.out.printf("MEASURE cluster_failover promoted_ms=%d new_epochs_ms=%d "
              + "promoted=%d%n", TimeUnit.NANOSECONDS.toMillis(promotedAt - killed),
              TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killed), promoted);
          int after = load.count();
          await().atMost(Duration.ofSeconds(20)).until(() -> load.count() > after + 1000);
          assertThat(othersDelivered(oracle, victims)).as("other partitions flowed on")
              .isGreaterThan(others);
          acked = load.acked();
        }
        acked.putAll(tail);
        Map<Integer, Map<EventId, String>> truth = new HashMap<>();
        for (int p = 0; p < 16; p++) {
          truth.put(p, stored(cluster, stream, p));
        }
        // everything the streams hold was delivered (the node started before the first event)
        await().atMost(Duration.ofSeconds(20)).until(() -> truth.values().stream()
            .allMatch(t -> t.keySet().stream().allMatch(oracle::delivered)));
        assertThat(oracle.discontinuities().keySet()).as("only the killed primary's partitions")
            .isEqualTo(victims);
        for (int p = 0; p < 16; p++) { // and only they have new epochs
          Set<String> epochs = oracle.ids(p).stream().map(EventId::epoch)
              .collect(Collectors.toSet());
          assertThat(epochs).as("epochs of partition %d", p)
              .hasSize(victims.contains(p) ? 2 : 1);
        }
        int lost = 0;
        for (int p = 0; p < 16; p++) {
          Map<EventId, String> held = truth.get(p);
          for (EventId id : oracle.ids(p)) {
            if (held.containsKey(id)) {
              assertThat(oracle.payload(id)).as("%s names one event", id)
                  .isEqualTo(held.get(id));
            } else {
              assertThat(victims).as("%s lost outside the killed primary", id).contains(p);
              assertThat(oracle.reportedAfter(id)).as("the loss of %s reported", id).isTrue();
              lost++;
            }
          }
        }
        for (Map.Entry<EventId, String> e : acked.entrySet()) { // a lost id is never reused
          Map<EventId, String> held = truth.get(e.getKey().partition());
          if (held.containsKey(e.getKey())) {
            assertThat(held.get(e.getKey())).isEqualTo(e.getValue());
          } else {
            assertThat(victims).contains(e.getKey().partition());
          }
        }
        assertThat(tail.keySet()).noneMatch(id -> truth.get(id.partition()).containsKey(id));
        System.out.printf("MEASURE cluster_failover victims=%s lost_and_reported=%d "
            + "discontinuities=%s%n", victims, lost, oracle.discontinuities().keySet());
        assertThat(lost).isGreaterThanOrEqualTo(tail.size());
        oracle.assertNoSilentGap();
      }
    }
  }

  private static int othersDelivered(PartitionOracle oracle, Set<Integer> victims) {
    int n = 0;
    for (int p = 0; p < 16; p++) {
      if (!victims.contains(p)) {
        n += oracle.ids(p).size();
      }
    }
    return n;
  }

  @Test
  void aPartitionsSlotMovedUnderLoadLosesNothingAndTheNodeFollowsItByItself() throws Exception {
    RedisStream stream = RedisStream.named("moving").withPartitions(16);
    try (RedisCluster cluster = RedisCluster.start(3, 1)) {
      PartitionOracle oracle = new PartitionOracle();
      try (RedisBus bus = RedisClusterBusIntegrationTest.bus(cluster, stream, oracle, UNTOLD);
          RedisPublisher publisher = RedisPublisher.create(cluster.uri(), stream)) {
        bus.need(ALL).get(20, TimeUnit.SECONDS);
        RedisPartition moved = stream.partitionFor("mch_1");
        int source = cluster.primaryOf(moved.slot());
        int target = cluster.primaryPorts().stream().filter(port -> port != source).findFirst()
            .orElseThrow();
        Map<EventId, String> acked;
        long finished;
        try (Load load = new Load(publisher, 2000)) {
          await().atMost(Duration.ofSeconds(20)).until(() -> load.count() > 2000);
          cluster.beginMove(moved.slot(), target);
          int keys = cluster.migrateKeys(moved.slot(), target);
          cluster.finishMove(moved.slot(), target);
          finished = System.nanoTime();
          await().atMost(Duration.ofSeconds(5)).until(() -> bus.connections()
              .getOrDefault("127.0.0.1:" + target, Set.of()).contains(moved.index()));
          System.out.printf("MEASURE cluster_slot_move keys=%d resubscribed_ms=%d%n", keys,
              TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - finished));
          int after = load.count();
          await().atMost(Duration.ofSeconds(20)).until(() -> load.count() > after + 1000);
          acked = load.acked();
        }
        await().atMost(Duration.ofSeconds(20)).until(() -> acked.keySet().stream()
            .allMatch(oracle::delivered));
        for (Map.Entry<EventId, String> e : acked.entrySet()) {
          assertThat(oracle.payload(e.getKey())).isEqualTo(e.getValue());
        }
        assertThat(oracle.discontinuities()).as("a move loses nothing").isEmpty();
        List<EventId> ids = oracle.ids(moved.index());
        assertThat(ids.get(ids.size() - 1).epoch()).as("bridged on the target")
            .isNotEqualTo(ids.get(0).epoch());
        try (Jedis s = cluster.node(source); Jedis t = cluster.node(target)) {
          assertThat(s.pubsubShardNumSub(moved.channel())).containsEntry(moved.channel(), 0L);
          assertThat(t.pubsubShardNumSub(moved.channel())).containsEntry(moved.channel(), 1L);
        }
        System.out.printf("MEASURE cluster_slot_move acked=%d delivered=%d lost=0%n",
            acked.size(), oracle.count());
        oracle.assertNoSilentGap();
      }
    }
  }
}
