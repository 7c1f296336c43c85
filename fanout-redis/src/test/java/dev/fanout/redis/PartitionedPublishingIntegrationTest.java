package dev.fanout.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.fanout.core.EventId;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.StreamEntryID;

/** Partitions and pipelined publishing on one redis-server. */
class PartitionedPublishingIntegrationTest {
  @RegisterExtension final RedisServer redis = RedisServer.inMemory();

  private Jedis jedis() {
    return new Jedis("127.0.0.1", redis.port());
  }

  @Test
  void pipelinedPublishesTakeTheirIdsInTheOrderTheyWereSubmitted() {
    try (RedisPublisher publisher = RedisPublisher.create(redis.uri(),
        RedisStream.named("async"))) {
      List<CompletableFuture<EventId>> futures = new ArrayList<>();
      for (int i = 0; i < 5000; i++) {
        futures.add(publisher.publishAsync("mch_" + (i % 10), Map.of("i", "" + i),
            "{\"i\":" + i + "}"));
      }
      for (int i = 0; i < futures.size(); i++) {
        assertThat(futures.get(i).join().seq()).isEqualTo(i + 1);
      }
    }
    try (Jedis j = jedis()) {
      assertThat(j.xlen("{async}:stream")).isEqualTo(5000);
      assertThat(j.exists("{async}:partitions")).as("the single layout records nothing")
          .isFalse();
    }
  }

  @Test
  void aNodeReceivesPipelinedPublishesInOrder() {
    RedisStream stream = RedisStream.named("received");
    try (RedisBus bus = RedisBus.builder(redis.uri(), stream).build();
        RedisPublisher publisher = RedisPublisher.create(redis.uri(), stream)) {
      Oracle oracle = new Oracle();
      bus.subscribe(oracle);
      await().atMost(Duration.ofSeconds(10)).until(() -> bus.status().link().isUp());
      List<CompletableFuture<EventId>> futures = new ArrayList<>();
      for (int i = 0; i < 1000; i++) {
        futures.add(publisher.publishAsync("mch_" + (i % 7), Map.of("method", "card"),
            "{\"i\":" + i + "}"));
      }
      List<EventId> ids = futures.stream().map(CompletableFuture::join).toList();
      await().atMost(Duration.ofSeconds(10)).until(() -> oracle.delivered(ids.get(999)));
      assertThat(oracle.ids()).containsExactlyElementsOf(ids);
      assertThat(oracle.discontinuities()).isEmpty();
      assertThat(bus.status().strayMessages()).isZero();
    }
  }

  @Test
  void aRefusedPipelinedPublishFailsAloneAndLeavesNoHole() {
    try (RedisPublisher publisher = RedisPublisher.create(redis.uri(),
        RedisStream.named("refused"))) {
      CompletableFuture<EventId> first = publisher.publishAsync("mch_1", Map.of(), "{}");
      CompletableFuture<EventId> bad = publisher.publishAsync("mch_1", Map.of(), "{nope");
      CompletableFuture<EventId> third = publisher.publishAsync("mch_1", Map.of(), "[1]");
      assertThat(first.join().seq()).isEqualTo(1);
      assertThatThrownBy(bad::join).isInstanceOf(CompletionException.class)
          .hasCauseInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("data must be one JSON value");
      assertThat(third.join().seq()).isEqualTo(2);
      assertThatThrownBy(() -> publisher.publishAsync("", Map.of(), "{}"))
          .isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void closingSendsWhatWasQueuedThenRefuses() {
    RedisPublisher publisher = RedisPublisher.create(redis.uri(), RedisStream.named("closing"));
    List<CompletableFuture<EventId>> futures = new ArrayList<>();
    for (int i = 0; i < 2000; i++) {
      futures.add(publisher.publishAsync("mch_1", Map.of(), "{}"));
    }
    publisher.close();
    assertThat(futures).allMatch(f -> f.isDone() && !f.isCompletedExceptionally());
    assertThatThrownBy(() -> publisher.publishAsync("mch_1", Map.of(), "{}"))
        .isInstanceOf(FanoutRedisException.class).hasMessageContaining("closed");
    assertThat(Thread.getAllStackTraces().keySet()).noneMatch(t -> t.getName()
        .startsWith("fanout-publish-") && t.isAlive());
  }

  @Test
  void aNamespaceOfSeveralPartitionsWritesEachTopicToItsPartition() {
    RedisStream stream = RedisStream.named("parts").withPartitions(4);
    try (RedisPublisher publisher = RedisPublisher.create(redis.uri(), stream)) {
      for (int t = 0; t < 40; t++) {
        publisher.publishAsync("mch_" + t, Map.of(), "{}");
      }
      EventId last = publisher.publish("mch_0", Map.of(), "{}");
      assertThat(last).isNotNull();
    }
    try (Jedis j = jedis()) {
      assertThat(j.hget("{parts}:partitions", "count")).isEqualTo("4");
      long total = 0;
      for (int i = 0; i < 4; i++) {
        RedisPartition p = stream.partition(i);
        var entries = j.xrange(p.streamKey(), StreamEntryID.MINIMUM_ID,
            StreamEntryID.MAXIMUM_ID);
        for (int k = 0; k < entries.size(); k++) {
          assertThat(entries.get(k).getID().getTime()).isEqualTo(k + 1);
          assertThat(stream.partitionOf(entries.get(k).getFields().get("t"))).isEqualTo(i);
        }
        total += entries.size();
      }
      assertThat(total).isEqualTo(41);
      assertThat(j.exists("{parts}:stream")).isFalse();
    }
  }

  @Test
  void aNodeOrPublisherOfOnePartitionRefusesANamespaceOfSixteen() throws Exception {
    try (RedisPublisher sixteen = RedisPublisher.create(redis.uri(),
        RedisStream.named("payments").withPartitions(16))) {
      sixteen.publish("mch_1", Map.of(), "{}");
    }
    RedisStream one = RedisStream.named("payments");
    try (RedisPublisher publisher = RedisPublisher.create(redis.uri(), one)) {
      assertThatThrownBy(() -> publisher.publish("mch_1", Map.of(), "{}"))
          .isInstanceOf(FanoutRedisException.class)
          .hasMessageStartingWith("namespace payments has 16 partitions");
    }
    assertThatThrownBy(() -> RedisBus.check(redis.uri(), one))
        .isInstanceOf(FanoutRedisException.class).hasMessageContaining("configured with 1");
    try (RedisBus bus = RedisBus.builder(redis.uri(), one)
        .backoff(Duration.ofMillis(50), Duration.ofMillis(200)).build()) {
      await().atMost(Duration.ofSeconds(10)).until(() -> bus.status().downReason() != null);
      assertThat(bus.status().downReason()).contains("has 16 partitions");
      assertThat(bus.status().link().isUp()).isFalse();
    }
    // a namespace of the single layout refuses sixteen, whoever comes first
    try (RedisPublisher single = RedisPublisher.create(redis.uri(), RedisStream.named("old"))) {
      single.publish("mch_1", Map.of(), "{}");
    }
    RedisBus.check(redis.uri(), RedisStream.named("old"));
    try (RedisPublisher sixteen = RedisPublisher.create(redis.uri(),
        RedisStream.named("old").withPartitions(16))) {
      assertThatThrownBy(() -> sixteen.publish("mch_1", Map.of(), "{}"))
          .hasMessageContaining("has 1 partition in the single layout");
    }
  }
}
