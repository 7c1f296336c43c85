package dev.fanout.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.fanout.core.EventId;
import dev.fanout.core.LinkState;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import redis.clients.jedis.Jedis;

/**
 * A bus of several partitions on one real redis-server: sharded Pub/Sub of only what is needed,
 * ids that name their partition, gaps, restarts and losses per partition.
 */
class PartitionedBusIntegrationTest {
  @RegisterExtension final RedisServer redis = RedisServer.withAppendOnly();

  private final RedisStream stream = RedisStream.named("parts").withPartitions(4);
  private final List<AutoCloseable> closeables = new ArrayList<>();

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

  private RedisBus bus(PartitionOracle oracle) {
    RedisBus bus = track(RedisBus.builder(redis.uri(), stream)
        .backoff(Duration.ofMillis(50), Duration.ofMillis(500)).build());
    bus.subscribe(oracle);
    return bus;
  }

  private RedisPublisher publisher() {
    return track(RedisPublisher.create(redis.uri(), stream));
  }

  private static String topic(RedisStream s, int partition) {
    return PartitionedHistoryIntegrationTest.topicsOf(s, partition, 1).get(0);
  }

  private Map<String, Long> shardSubscribers() {
    try (Jedis j = new Jedis("127.0.0.1", redis.port())) {
      List<String> channels = new ArrayList<>();
      for (int p = 0; p < 4; p++) {
        channels.add(stream.partition(p).channel());
      }
      return j.pubsubShardNumSub(channels.toArray(new String[0]));
    }
  }

  @Test
  void aNodeReceivesOnlyThePartitionsItNeedsWithIdsThatNameThem() throws Exception {
    RedisPublisher publisher = publisher();
    EventId before = publisher.publish(topic(stream, 3), Map.of(), "{}");
    PartitionOracle oracle = new PartitionOracle();
    RedisBus bus = bus(oracle);
    assertThat(bus.partitioning().count()).isEqualTo(4);
    assertThat(bus.partitioning().partitionOf("mch_1")).isEqualTo(stream.partitionOf("mch_1"));
    bus.need(Set.of(1, 3)).get(10, TimeUnit.SECONDS);
    assertThat(bus.status().link()).isEqualTo(LinkState.UP);
    assertThat(oracle.position(3)).as("told where partition 3 starts").isEqualTo(before);
    assertThat(shardSubscribers()).containsEntry(stream.partition(0).channel(), 0L)
        .containsEntry(stream.partition(1).channel(), 1L)
        .containsEntry(stream.partition(2).channel(), 0L)
        .containsEntry(stream.partition(3).channel(), 1L);
    List<EventId> expected = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      EventId id = publisher.publish(topic(stream, i % 4), Map.of(), "{\"i\":" + i + "}");
      if (id.partition() == 1 || id.partition() == 3) {
        expected.add(id);
      }
    }
    await().atMost(Duration.ofSeconds(10)).until(() -> oracle.count() == expected.size());
    assertThat(oracle.ids(1)).containsExactlyElementsOf(expected.stream()
        .filter(id -> id.partition() == 1).toList());
    assertThat(oracle.ids(3)).first().hasToString("3." + before.epoch() + ":2");
    assertThat(oracle.ids(0)).isEmpty();
    assertThat(oracle.ids(2)).isEmpty();

    bus.need(Set.of(0)).get(10, TimeUnit.SECONDS); // replaces what was needed
    await().atMost(Duration.ofSeconds(10)).until(() -> shardSubscribers().equals(Map.of(
        stream.partition(0).channel(), 1L, stream.partition(1).channel(), 0L,
        stream.partition(2).channel(), 0L, stream.partition(3).channel(), 0L)));
    EventId zero = publisher.publish(topic(stream, 0), Map.of(), "{}");
    await().atMost(Duration.ofSeconds(10)).until(() -> oracle.delivered(zero));
    assertThat(bus.connections()).hasSize(1); // one connection for all of them
    oracle.assertNoSilentGap();
    assertThatThrownBy(() -> bus.need(Set.of(4))).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("partition 4 of parts does not exist");
  }

  @Test
  void aPartitionDroppedBeforeItWasLiveFailsItsFutureAndOneNeededAgainStartsAfresh()
      throws Exception {
    RedisPublisher publisher = publisher();
    PartitionOracle oracle = new PartitionOracle();
    RedisBus bus = bus(oracle);
    CompletableFuture<Void> first = bus.need(Set.of(2));
    bus.need(Set.of()); // dropped at once, live or not
    try {
      first.get(10, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      assertThat(e.getCause()).isInstanceOf(CancellationException.class);
    }
    EventId unseen = publisher.publish(topic(stream, 2), Map.of(), "{}");
    bus.need(Set.of(2)).get(10, TimeUnit.SECONDS);
    assertThat(oracle.position(2)).isEqualTo(unseen);
    EventId seen = publisher.publish(topic(stream, 2), Map.of(), "{}");
    await().atMost(Duration.ofSeconds(10)).until(() -> oracle.delivered(seen));
    assertThat(oracle.ids(2)).containsExactly(seen);

    // dropped and needed again at once, before the bus ran its map: live again, afresh
    bus.need(Set.of());
    CompletableFuture<Void> again = bus.need(Set.of(2));
    EventId meanwhile = publisher.publish(topic(stream, 2), Map.of(), "{}");
    again.get(10, TimeUnit.SECONDS);
    EventId next = publisher.publish(topic(stream, 2), Map.of(), "{}");
    await().atMost(Duration.ofSeconds(10)).until(() -> oracle.delivered(next));
    assertThat(oracle.position(2)).isIn(seen, meanwhile);
    oracle.assertNoSilentGap();
  }

  @Test
  void aGapInOnePartitionIsFilledFromThatPartitionsStream() throws Exception {
    RedisPublisher publisher = publisher();
    PartitionOracle oracle = new PartitionOracle();
    RedisBus bus = bus(oracle);
    bus.need(Set.of(0, 1, 2, 3)).get(10, TimeUnit.SECONDS);
    String t = topic(stream, 2);
    EventId first = publisher.publish(t, Map.of(), "{\"n\":1}");
    RedisPartition p = stream.partition(2);
    // an event in the stream whose message never came: what a lost Pub/Sub message looks like
    redis.cli("EVAL", "local s = redis.call('HINCRBY', KEYS[2], 'seq', 1) "
        + "redis.call('XADD', KEYS[1], s .. '-0', 'e', ARGV[1], 't', ARGV[2], 'd', '{\"n\":2}') "
        + "return s", "2", p.streamKey(), p.metaKey(), first.epoch(), t);
    EventId third = publisher.publish(t, Map.of(), "{\"n\":3}");
    await().atMost(Duration.ofSeconds(10)).until(() -> oracle.delivered(third));
    assertThat(oracle.ids(2)).extracting(EventId::seq).containsExactly(1L, 2L, 3L);
    assertThat(oracle.payload(EventId.of(2, first.epoch(), 2))).isEqualTo("{\"n\":2}");
    assertThat(oracle.discontinuities()).isEmpty();
    oracle.assertNoSilentGap();
  }

  @Test
  void redisKilledAndRestartedWithAofLosesNothingInAnyPartition() throws Exception {
    PartitionOracle oracle = new PartitionOracle();
    RedisBus bus = bus(oracle);
    bus.need(Set.of(0, 1, 2, 3)).get(10, TimeUnit.SECONDS);
    Publisher load = new Publisher(publisher(), 2000);
    try (load) {
      await().until(() -> load.count() > 100);
      redis.kill();
      await().atMost(Duration.ofSeconds(10)).until(() -> !bus.status().link().isUp());
      redis.restart();
      await().atMost(Duration.ofSeconds(10)).until(() -> bus.status().link().isUp());
      int before = load.count();
      await().atMost(Duration.ofSeconds(20)).until(() -> load.count() > before + 100);
    }
    List<EventId> acked = load.acknowledged();
    await().atMost(Duration.ofSeconds(10)).until(() -> acked.stream()
        .allMatch(oracle::delivered));
    assertThat(new HashSet<>(acked.stream().map(EventId::partition).toList())).hasSize(4);
    assertThat(oracle.discontinuities()).isEmpty();
    assertThat(bus.status().downs()).isEqualTo(1);
    oracle.assertNoSilentGap();
  }

  @Test
  void aTopBelowWhatWasDeliveredInOnePartitionIsThatPartitionsDiscontinuity() throws Exception {
    RedisPublisher publisher = publisher();
    PartitionOracle oracle = new PartitionOracle();
    RedisBus bus = bus(oracle);
    bus.need(Set.of(0, 1, 2, 3)).get(10, TimeUnit.SECONDS);
    EventId last = null;
    for (int i = 0; i < 100; i++) {
      last = publisher.publish(topic(stream, i % 4), Map.of(), "{}");
    }
    EventId delivered = last;
    await().atMost(Duration.ofSeconds(10)).until(() -> oracle.delivered(delivered));
    RedisPartition p = stream.partition(1); // its last 10 of 25 gone: as a failover would lose
    redis.cli("HSET", p.metaKey(), "seq", "15");
    redis.cli("EVAL", "for i=16,25 do redis.call('XDEL', KEYS[1], i .. '-0') end", "1",
        p.streamKey());
    redis.cli("CLIENT", "KILL", "TYPE", "pubsub");
    await().atMost(Duration.ofSeconds(10)).until(() -> oracle.discontinuities().size() == 1);
    assertThat(oracle.discontinuities()).containsOnlyKeys(1);
    assertThat(oracle.discontinuities().get(1).get(0)).contains("below the last delivered 1.");
    EventId next = publisher.publish(topic(stream, 1), Map.of(), "{}");
    assertThat(next.seq()).isEqualTo(16);
    await().atMost(Duration.ofSeconds(10)).until(() -> oracle.delivered(next));
    EventId other = publisher.publish(topic(stream, 2), Map.of(), "{}");
    await().atMost(Duration.ofSeconds(10)).until(() -> oracle.delivered(other));
    assertThat(oracle.discontinuities()).containsOnlyKeys(1);
    oracle.assertNoSilentGap();
  }

  @Test
  void theDocumentedAclWorksAndAUserWithoutTheChannelsIsToldWhy() throws Exception {
    // docs/redis.md, "Deployments": the namespace's keys and channels, the commands a node and
    // a publisher send, and those the functions call
    String commands = "+fcall +function +hmget +xrange +xrevrange +xinfo +multi +exec +ping "
        + "+ssubscribe +sunsubscribe +spublish "
        + "+info +hincrby +hset +hget +xadd +xdel +xsetid +sadd +smembers +del +exists +time";
    List<String> feed = new ArrayList<>(List.of("ACL", "SETUSER", "feed", "on", ">s3cret",
        "resetkeys", "~{parts}:*", "~{parts:*", "resetchannels", "&{parts:*", "-@all"));
    feed.addAll(List.of(commands.split(" ")));
    assertThat(redis.cli(feed.toArray(new String[0]))).isEqualTo("OK");
    java.net.URI uri = java.net.URI.create("redis://feed:s3cret@127.0.0.1:" + redis.port());
    PartitionOracle oracle = new PartitionOracle();
    try (RedisBus bus = RedisBus.builder(uri, stream).build();
        RedisPublisher publisher = RedisPublisher.create(uri, stream)) {
      bus.subscribe(oracle);
      bus.need(Set.of(0, 1, 2, 3)).get(10, TimeUnit.SECONDS);
      EventId id = publisher.publish(topic(stream, 2), Map.of(), "{}");
      await().atMost(Duration.ofSeconds(10)).until(() -> oracle.delivered(id));
    }
    List<String> deaf = new ArrayList<>(feed);
    deaf.set(2, "deaf");
    deaf.set(deaf.indexOf("&{parts:*"), "&other:*");
    assertThat(redis.cli(deaf.toArray(new String[0]))).isEqualTo("OK");
    try (RedisBus bus = RedisBus.builder(java.net.URI.create("redis://deaf:s3cret@127.0.0.1:"
        + redis.port()), stream).backoff(Duration.ofMillis(50), Duration.ofMillis(200))
        .build()) {
      bus.need(Set.of(1));
      await().atMost(Duration.ofSeconds(10)).until(() -> bus.status().downReason() != null);
      assertThat(bus.status().downReason()).contains("refused SSUBSCRIBE").contains("NOPERM");
      assertThat(bus.status().link().isUp()).isFalse();
    }
  }

  @Test
  void closeReturnsPromptlyAndLeavesNoThread() throws Exception {
    PartitionOracle oracle = new PartitionOracle();
    RedisBus bus = RedisBus.builder(redis.uri(), stream).build();
    bus.subscribe(oracle);
    bus.need(Set.of(0, 1, 2, 3)).get(10, TimeUnit.SECONDS);
    try (Publisher load = new Publisher(publisher(), 500)) {
      await().until(() -> oracle.count() > 100);
      long t0 = System.nanoTime();
      bus.close();
      assertThat(System.nanoTime() - t0).isLessThan(TimeUnit.SECONDS.toNanos(2));
    }
    assertThat(bus.status().link()).isEqualTo(LinkState.CLOSED);
    await().atMost(Duration.ofSeconds(5)).until(() -> Thread.getAllStackTraces().keySet()
        .stream().noneMatch(t -> t.getName().startsWith("fanout-redis")));
    oracle.assertNoSilentGap();
  }
}
