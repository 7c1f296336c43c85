package dev.fanout.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fanout.core.Event;
import dev.fanout.core.EventId;
import dev.fanout.core.Recovery;
import dev.fanout.core.Subscription;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.StreamEntryID;
import redis.clients.jedis.resps.StreamEntry;

/** A Redis Cluster that changes under fanout: a primary killed, a slot moved. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RedisClusterChangesIntegrationTest {

  @Test
  void theFunctionLoadsItselfOnAPromotedReplicaThatLacksIt() throws Exception {
    RedisStream stream = RedisStream.named("failover").withPartitions(16);
    RedisPartition p = stream.partitionFor("mch_1");
    try (RedisCluster cluster = RedisCluster.start(3, 1);
        RedisPublisher publisher = RedisPublisher.create(cluster.uri(), stream)) {
      EventId before = publisher.publish("mch_1", Map.of(), "{\"n\":1}");
      int primary = cluster.primaryOf(p.slot());
      try (Jedis j = cluster.node(primary)) {
        assertThat(j.waitReplicas(1, 5000)).isEqualTo(1);
      }
      int promoted = cluster.killPrimary(primary);
      try (Jedis j = cluster.node(promoted)) {
        j.functionFlush(); // as a primary that never received FUNCTION LOAD would be
      }
      // The first publish may meet a connection to the dead primary (it fails, as a publish
      // whose connection broke does); then the cluster's new topology, then the reload.
      AtomicReference<EventId> after = new AtomicReference<>();
      await().atMost(Duration.ofSeconds(20)).ignoreExceptions().until(() -> {
        after.set(publisher.publish("mch_1", Map.of(), "{\"n\":2}"));
        return true;
      });
      assertThat(after.get().seq()).isEqualTo(before.seq() + 1);
      assertThat(after.get().epoch()).isNotEqualTo(before.epoch()); // bridged: another process
      // Lost again where this publisher had loaded it: "Function not found", load, publish.
      try (Jedis j = cluster.node(promoted)) {
        j.functionFlush();
      }
      EventId third = publisher.publish("mch_1", Map.of(), "{\"n\":3}");
      try (Jedis j = cluster.node(promoted)) {
        j.functionFlush();
      }
      EventId fourth = publisher.publishAsync("mch_1", Map.of(), "{\"n\":4}")
          .get(10, TimeUnit.SECONDS);
      assertThat(List.of(third, fourth)).containsExactly(
          EventId.of(p.index(), after.get().epoch(), before.seq() + 2),
          EventId.of(p.index(), after.get().epoch(), before.seq() + 3));
      try (Jedis j = cluster.node(promoted)) {
        assertThat(j.functionList("fanout")).hasSize(1);
        assertThat(j.hget(p.metaKey(), "prev")).isEqualTo(before.epoch());
        assertThat(j.xrange(p.streamKey(), StreamEntryID.MINIMUM_ID, StreamEntryID.MAXIMUM_ID))
            .extracting(e -> e.getID().getTime()).containsExactly(1L, 2L, 3L, 4L);
      }
    }
  }

  @Test
  void publishesDuringASlotMoveAreNeitherLostNorDoubled() throws Exception {
    RedisStream stream = RedisStream.named("moving").withPartitions(16);
    RedisPartition p = stream.partitionFor("mch_1");
    List<String> fresh = new ArrayList<>(); // topics of the same partition, new to it
    for (int t = 2; fresh.size() < 2; t++) {
      if (stream.partitionOf("mch_" + t) == p.index()) {
        fresh.add("mch_" + t);
      }
    }
    try (RedisCluster cluster = RedisCluster.start(3, 1);
        RedisPublisher publisher = RedisPublisher.create(cluster.uri(), stream);
        RedisHistory history = new RedisHistory(Nodes.of(RedisEndpoint.parse(cluster.uri(),
            Duration.ofSeconds(2)), 2), stream, 2000, 10_000)) {
      List<EventId> ids = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        ids.add(publisher.publish("mch_1", Map.of(), "{\"i\":" + i + "}"));
      }
      int source = cluster.primaryOf(p.slot());
      int target = cluster.primaryPorts().stream().filter(port -> port != source).findFirst()
          .orElseThrow();
      List<CompletableFuture<EventId>> during = new ArrayList<>();

      cluster.beginMove(p.slot(), target);
      CompletableFuture<EventId> existing = publisher.publishAsync("mch_1", Map.of(), "{}");
      during.add(existing);
      existing.get(10, TimeUnit.SECONDS); // every key is still here: it runs on the source

      assertThat(cluster.migrateKeys(p.slot(), target)).isGreaterThanOrEqualTo(4);
      CompletableFuture<EventId> asked = publisher.publishAsync("mch_1", Map.of(), "{}");
      during.add(asked);
      asked.get(10, TimeUnit.SECONDS); // ASK: it runs on the target, which has every key
      Recovery resume = history.since(ids.get(0), Subscription.builder().topics("mch_1")
          .build()); // ASK, then MULTI on the target
      assertThat(resume.recovered()).isTrue();
      assertThat(resume.events()).hasSize(6);
      // A topic new to the partition has no key anywhere yet: TRYAGAIN until the move ends, and
      // what is submitted behind it waits behind it.
      during.add(publisher.publishAsync(fresh.get(0), Map.of(), "{}"));
      during.add(publisher.publishAsync("mch_1", Map.of(), "{}"));
      during.add(publisher.publishAsync(fresh.get(1), Map.of(), "{}"));

      cluster.finishMove(p.slot(), target);
      during.add(publisher.publishAsync("mch_1", Map.of(), "{}")); // MOVED, then the target
      for (CompletableFuture<EventId> f : during) {
        ids.add(f.get(20, TimeUnit.SECONDS));
      }
      List<Event> stored = new ArrayList<>();
      try (Jedis j = cluster.node(target)) {
        for (StreamEntry e : j.xrange(p.streamKey(), StreamEntryID.MINIMUM_ID,
            StreamEntryID.MAXIMUM_ID)) {
          stored.add(RedisHistory.toEvent(e, p));
        }
      }
      try (Jedis j = cluster.node(source)) {
        assertThat(j.clusterCountKeysInSlot(p.slot())).isZero();
      }
      assertThat(stored).extracting(e -> e.id().seq())
          .containsExactly(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L, 10L, 11L);
      // every publish once, in the order it was submitted
      assertThat(stored.stream().map(Event::id).toList()).containsExactlyElementsOf(ids);
      // the target is another process: the first publish there bridged the epoch at 6
      String before = stored.get(0).id().epoch();
      assertThat(stored.subList(0, 6)).allMatch(e -> e.id().epoch().equals(before));
      assertThat(stored.subList(6, 11)).noneMatch(e -> e.id().epoch().equals(before));
      assertThat(history.partition(p.index()).position().top().seq()).isEqualTo(11);
    }
  }
}
