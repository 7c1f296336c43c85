package dev.fanout.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.fanout.core.Event;
import dev.fanout.core.EventId;
import dev.fanout.core.Recovery;
import dev.fanout.core.Subscription;
import dev.fanout.redis.ClusterTopology.SlotRange;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisShardedPubSub;
import redis.clients.jedis.StreamEntryID;
import redis.clients.jedis.resps.StreamEntry;

/**
 * fanout-redis on a real Redis Cluster of three primaries with a replica each (one cluster for
 * the class; the tests that kill or reshard have their own, in
 * RedisClusterChangesIntegrationTest).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RedisClusterIntegrationTest {
  private static RedisCluster cluster;

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

  private static RedisEndpoint endpoint() {
    return RedisEndpoint.parse(cluster.uri(), Duration.ofSeconds(2));
  }

  @Test
  void theTopologyIsTheOneRedisCliCreated() {
    try (ClusterNodes nodes = new ClusterNodes(endpoint(), 2)) {
      ClusterTopology t = nodes.topology();
      assertThat(t.primaries()).hasSize(3);
      List<SlotRange> ranges = new ArrayList<>();
      for (ClusterTopology.Node primary : t.primaries()) {
        assertThat(t.replicasOf(primary)).hasSize(1);
        assertThat(t.slotsOf(primary)).hasSize(1);
        ranges.addAll(t.slotsOf(primary));
      }
      ranges.sort((a, b) -> Integer.compare(a.first(), b.first()));
      assertThat(ranges).isEqualTo(RedisPartitionTest.redisCliLayout(3));
      assertThat(t.uncovered()).isEmpty();
      for (int slot : new int[] {0, 5460, 5461, 10922, 10923, 16383}) {
        assertThat(t.primaryOf(slot).address().getPort()).isEqualTo(cluster.primaryOf(slot));
      }
      try (Jedis j = cluster.node(t.primaries().get(0).address().getPort())) {
        assertThat(t.primaries().get(0).id()).isEqualTo(j.clusterMyId());
      }
    }
  }

  @Test
  void keySlotsAreTheOnesRedisComputes() {
    Random random = new Random(27);
    List<String> keys = new ArrayList<>(List.of("", "{", "}", "{}", "{}x", "x{}", "{{a}}",
        "a{b", "}{x}", "{a}{b}", "foo{bar}zap", "ü{☃}", "{payments}:stream", "mch_1"));
    String alphabet = "ab{}:_-é☃";
    for (int i = 0; i < 500; i++) {
      StringBuilder k = new StringBuilder();
      for (int n = random.nextInt(12); n > 0; n--) {
        k.append(alphabet.charAt(random.nextInt(alphabet.length())));
      }
      keys.add(k.toString());
    }
    RedisStream s = RedisStream.named("payments").withPartitions(16);
    try (Jedis j = cluster.node(cluster.primaryPorts().get(0))) {
      for (String key : keys) {
        assertThat(KeySlot.of(key)).as(key).isEqualTo(j.clusterKeySlot(key));
      }
      for (int i = 0; i < 16; i++) {
        RedisPartition p = s.partition(i);
        assertThat(j.clusterKeySlot(p.streamKey())).isEqualTo(RedisPartition.targetSlot(i, 16));
        assertThat(j.clusterKeySlot(p.channel())).isEqualTo(p.slot());
      }
    }
  }

  @Test
  void checkAcceptsAClusterThatIsUp() {
    RedisBus.check(cluster.uri());
    RedisBus.check(cluster.uri(), RedisStream.named("checked").withPartitions(16));
  }

  @Test
  void aThousandTopicsInSixteenPartitionsSpreadOverTheThreePrimaries() {
    RedisStream stream = RedisStream.named("spread").withPartitions(16);
    Map<Integer, List<EventId>> submitted = new HashMap<>(); // partition -> ids, submission order
    try (RedisPublisher publisher = RedisPublisher.create(cluster.uri(), stream)) {
      List<CompletableFuture<EventId>> futures = new ArrayList<>();
      List<String> topics = new ArrayList<>();
      for (int round = 0; round < 2; round++) {
        for (int t = 0; t < 1000; t++) {
          String topic = "mch_" + t;
          topics.add(topic);
          futures.add(publisher.publishAsync(topic, Map.of("round", "r" + round),
              "{\"t\":" + t + "}"));
        }
      }
      for (int i = 0; i < futures.size(); i++) {
        EventId id = futures.get(i).join();
        submitted.computeIfAbsent(stream.partitionOf(topics.get(i)), p -> new ArrayList<>())
            .add(id);
      }
    }
    Map<Integer, Integer> topicsPerPrimary = new HashMap<>();
    int total = 0;
    for (int i = 0; i < 16; i++) {
      RedisPartition p = stream.partition(i);
      List<EventId> ids = submitted.getOrDefault(i, List.of());
      // within a partition the ids came back in the order the publishes were submitted
      for (int k = 1; k < ids.size(); k++) {
        assertThat(ids.get(k).seq()).isEqualTo(ids.get(k - 1).seq() + 1);
      }
      int port = cluster.primaryOf(p.slot());
      List<Event> events = new ArrayList<>();
      try (Jedis j = cluster.node(port)) {
        for (StreamEntry e : j.xrange(p.streamKey(), StreamEntryID.MINIMUM_ID,
            StreamEntryID.MAXIMUM_ID)) {
          events.add(RedisHistory.toEvent(e, p));
        }
      }
      assertThat(events.stream().map(Event::id).toList()).as("partition %d", i)
          .containsExactlyElementsOf(ids);
      for (int k = 0; k < events.size(); k++) {
        assertThat(events.get(k).id().seq()).isEqualTo(k + 1);
        assertThat(stream.partitionOf(events.get(k).topic())).isEqualTo(i);
      }
      topicsPerPrimary.merge(port, events.size() / 2, Integer::sum);
      total += events.size();
    }
    assertThat(total).isEqualTo(2000);
    assertThat(topicsPerPrimary).hasSize(3);
    for (int held : topicsPerPrimary.values()) {
      assertThat(held).isBetween(250, 420);
    }
  }

  @Test
  void eventsGoOutWithShardedPubSubOnThePartitionsChannel() throws Exception {
    RedisStream stream = RedisStream.named("sharded").withPartitions(4);
    RedisPartition p = stream.partitionFor("mch_7");
    List<String> received = new CopyOnWriteArrayList<>();
    JedisShardedPubSub listener = new JedisShardedPubSub() {
      @Override
      public void onSMessage(String channel, String message) {
        received.add(channel + " " + message);
      }
    };
    Jedis subscriber = cluster.node(cluster.primaryOf(p.slot()));
    Thread t = new Thread(() -> listener.proceed(subscriber.getConnection(), p.channel()));
    t.start();
    try (RedisPublisher publisher = RedisPublisher.create(cluster.uri(), stream)) {
      await().atMost(Duration.ofSeconds(10)).until(listener::isSubscribed);
      EventId id = publisher.publish("mch_7", Map.of(), "{\"ok\":true}");
      await().atMost(Duration.ofSeconds(10)).until(() -> !received.isEmpty());
      Event event = Netstrings.decodeEvent(received.get(0).substring(p.channel().length() + 1)
          .getBytes(StandardCharsets.UTF_8), p);
      assertThat(received.get(0)).startsWith(p.channel() + " ");
      assertThat(event.id()).isEqualTo(id);
      assertThat(event.topic()).isEqualTo("mch_7");
    } finally {
      listener.sunsubscribe();
      t.join(5000);
      subscriber.close();
    }
  }

  @Test
  void theDocumentedRedisCliFormPublishesToAPartition() throws Exception {
    RedisStream stream = RedisStream.named("cli").withPartitions(16);
    try (RedisPublisher publisher = RedisPublisher.create(cluster.uri(), stream)) {
      EventId first = publisher.publish("mch_1", Map.of(), "{}"); // loads the function everywhere
      RedisPartition p = stream.partitionFor("mch_1");
      // docs/redis.md: redis-cli -c FCALL fanout_publish 4 {tag}:stream {tag}:meta
      //   {tag}:topic:<topic> {tag}:topics {tag}:events <retention> <topic> <data> [name value]...
      String reply = cli(cluster.primaryPorts().get(0), "-c", "FCALL", "fanout_publish", "4",
          p.streamKey(), p.metaKey(), p.topicKey("mch_1"), p.topicsKey(), p.channel(), "100000",
          "mch_1", "{\"status\":\"captured\"}", "method", "card");
      assertThat(EventId.parse(reply)).isEqualTo(EventId.of(first.epoch(), 2));
      String wrongChannel = cli(cluster.primaryOf(p.slot()), "FCALL", "fanout_publish", "4",
          p.streamKey(), p.metaKey(), p.topicKey("mch_1"), p.topicsKey(), "cli:events",
          "100000", "mch_1", "{}");
      assertThat(wrongChannel).contains("the channel must be " + "{" + p.tag() + "}:events");
      // docs/redis.md: FCALL fanout_publish_batch <3 + T> <stream> <meta> <topics> <topic
      //   streams>... <channel> <retention> <n> then <topic number> <data> <a> [name value]...
      String other = "mch_2";
      for (int t = 3; stream.partitionOf(other) != p.index(); t++) {
        other = "mch_" + t;
      }
      String batch = cli(cluster.primaryPorts().get(1), "-c", "FCALL", "fanout_publish_batch",
          "5", p.streamKey(), p.metaKey(), p.topicsKey(), p.topicKey("mch_1"),
          p.topicKey(other), p.channel(), "100000", "3",
          "1", "{\"paymentId\":\"pay_9\"}", "1", "method", "card",
          "2", "{\"paymentId\":\"pay_10\"}", "1", "method", "sepa",
          "1", "{nope", "0");
      assertThat(batch.lines().toList()).containsExactly(first.epoch() + ":3",
          first.epoch() + ":4", "!data must be one JSON value");
    }
  }

  @Test
  void historyReadsAPartitionFromItsPrimary() {
    RedisStream stream = RedisStream.named("hist");
    try (RedisPublisher publisher = RedisPublisher.create(cluster.uri(), stream);
        RedisHistory history = RedisHistory.create(cluster.uri(), stream)) {
      assertThat(publisher.stream().isTagged()).isTrue();
      List<EventId> ids = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        ids.add(publisher.publish("mch_" + (i % 3), Map.of("method", "card"), "{\"i\":" + i
            + "}"));
      }
      Recovery all = history.since(ids.get(4), Subscription.all());
      assertThat(all.recovered()).isTrue();
      assertThat(all.events().stream().map(Event::id).toList())
          .isEqualTo(ids.subList(5, 20));
      Recovery one = history.since(ids.get(4), Subscription.builder().topics("mch_1").build());
      assertThat(one.recovered()).isTrue();
      assertThat(one.events()).allMatch(e -> e.topic().equals("mch_1")).hasSize(5);
      assertThat(history.latest(3, Subscription.all()).stream().map(Event::id).toList())
          .isEqualTo(ids.subList(17, 20));
      assertThat(history.position().top()).isEqualTo(ids.get(19));
    }
  }

  @Test
  void aPublisherWithAnotherPartitionCountIsRefusedInOneLine() throws Exception {
    RedisStream sixteen = RedisStream.named("counted").withPartitions(16);
    try (RedisPublisher first = RedisPublisher.create(cluster.uri(), sixteen)) {
      first.publish("mch_1", Map.of(), "{}");
    }
    try (RedisPublisher other = RedisPublisher.create(cluster.uri(),
        RedisStream.named("counted").withPartitions(8))) {
      assertThatThrownBy(() -> other.publish("mch_1", Map.of(), "{}"))
          .isInstanceOf(FanoutRedisException.class)
          .hasMessage("namespace counted has 16 partitions (recorded in {counted}:partitions); "
              + "this publisher is configured with 8");
      assertThatThrownBy(() -> other.publishAsync("mch_1", Map.of(), "{}"))
          .isInstanceOf(FanoutRedisException.class).hasMessageContaining("configured with 8");
    }
    assertThatThrownBy(() -> RedisBus.check(cluster.uri(), RedisStream.named("counted")))
        .isInstanceOf(FanoutRedisException.class).hasMessageContaining("configured with 1");
    // a namespace of the single layout, from before partitions
    cli(cluster.primaryPorts().get(0), "-c", "HSET", "{old}:meta", "epoch", "e1", "seq", "3");
    try (RedisPublisher tagged = RedisPublisher.create(cluster.uri(), RedisStream.named("old"))) {
      assertThatThrownBy(() -> tagged.publish("mch_1", Map.of(), "{}"))
          .isInstanceOf(FanoutRedisException.class)
          .hasMessageContaining("namespace old has 1 partition in the single layout");
    }
  }

  static String cli(int port, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("redis-cli", "-p", Integer.toString(port)));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    p.waitFor(10, TimeUnit.SECONDS);
    return out;
  }

  static URI uri() {
    return cluster.uri();
  }
}
