package dev.fanout.redis;

import dev.fanout.core.SnapshotCacheStats;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.fanout.core.BusListener;
import dev.fanout.core.Event;
import dev.fanout.core.EventId;
import dev.fanout.core.Subscription;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Snapshots from the bus's memory against Redis's own answer, over random histories on a real
 * redis-server whose streams trim in small nodes (so {@code MAXLEN ~} and {@code MINID ~} trim
 * often and inexactly): publishes on skewed topics, fresh epochs, the link killed, caches evicted
 * by their byte bound; snapshots of one topic, a few (filtered or not), all, and more topics than
 * are read one by one.
 */
class SnapshotCacheIntegrationTest {
  @RegisterExtension final RedisServer redis =
      RedisServer.inMemoryWith("--stream-node-max-entries", "4");

  private static final int MAX_SCAN = 30;
  private final List<AutoCloseable> closing = new ArrayList<>();
  private final AtomicReference<EventId> routed = new AtomicReference<>();

  @AfterEach
  void close() throws Exception {
    Collections.reverse(closing);
    for (AutoCloseable c : closing) {
      c.close();
    }
  }

  private <T extends AutoCloseable> T track(T c) {
    closing.add(c);
    return c;
  }

  private RedisBus bus(RedisStream stream, int perTopic, long bytes) {
    RedisBus bus = track(RedisBus.builder(redis.uri(), stream)
        .backoff(Duration.ofMillis(20), Duration.ofMillis(200))
        .historyLimits(MAX_SCAN, 10_000).snapshotCache(perTopic, bytes).build());
    bus.subscribe(new BusListener() {
      @Override
      public void onEvent(Event event) {
        routed.set(event.id());
      }

      @Override
      public void onDiscontinuity(String reason) {}
    });
    return bus;
  }

  /** Redis's answer, read by a history without a cache, with the same scan bound. */
  private RedisHistory plain(RedisStream stream) {
    return track(new RedisHistory(Nodes.of(RedisEndpoint.parse(redis.uri(),
        Duration.ofSeconds(2)), 4), stream, MAX_SCAN, 10_000));
  }

  private void awaitRouted(EventId last) {
    if (last != null) {
      await().atMost(Duration.ofSeconds(20)).pollDelay(Duration.ZERO)
          .pollInterval(Duration.ofMillis(1)).until(() -> last.equals(routed.get()));
    }
  }

  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {1, 2, 3, 4, 5, 6})
  void answersFromMemoryAreRedissAnswersOverRandomHistories(long seed) throws Exception {
    Random rnd = new Random(seed);
    RedisStream stream = RedisStream.named("snap" + seed).withRetention(40);
    long bytes = seed % 2 == 0 ? 4_000 : 1 << 20;
    RedisBus bus = bus(stream, 6, bytes);
    RedisHistory expected = plain(stream);
    RedisPublisher publisher = track(RedisPublisher.create(redis.uri(), stream));
    await().atMost(Duration.ofSeconds(10)).until(() -> bus.status().link().isUp());
    EventId last = null;
    int checks = 0;
    for (int op = 0; op < 700; op++) {
      double r = rnd.nextDouble();
      if (r < 0.6) {
        int topic = Math.min(rnd.nextInt(6), rnd.nextInt(6)); // skewed: m0 busiest
        last = publisher.publish("m" + topic, Map.of("method", rnd.nextBoolean() ? "card" : "sepa"),
            "{\"op\":" + op + "}");
      } else if (r < 0.605) {
        redis.cli("DEL", stream.metaKey()); // the next publish starts the stream afresh
      } else if (r < 0.61) {
        redis.cli("CLIENT", "KILL", "TYPE", "pubsub"); // the link goes down, and comes back
      } else {
        awaitRouted(last);
        Subscription sub = randomSubscription(rnd);
        int limit = 1 + rnd.nextInt(10);
        assertThat(bus.history().latest(limit, sub))
            .as("op %d: latest(%d, %s)", op, limit, sub)
            .isEqualTo(expected.latest(limit, sub));
        checks++;
      }
    }
    SnapshotCacheStats stats = bus.status().snapshotCache();
    assertThat(checks).isGreaterThan(200);
    // the cache answered most of them itself
    assertThat(stats.hits()).as("%s", stats).isGreaterThan(checks * 2 / 3);
    if (bytes < 1 << 20) { // and kept within its bound, dropping topics (read again later)
      assertThat(stats.bytes()).as("%s", stats).isLessThanOrEqualTo(bytes);
    } else { // or read each topic far fewer times than it was asked for
      assertThat(stats.fills()).as("%s", stats).isLessThan(checks / 3);
    }
  }

  private static Subscription randomSubscription(Random rnd) {
    int kind = rnd.nextInt(10);
    Subscription.Builder b = Subscription.builder();
    if (kind < 4) {
      b.topics("m" + rnd.nextInt(7)); // m6 is never published to
    } else if (kind < 6) {
      List<String> topics = new ArrayList<>();
      for (int i = 1 + rnd.nextInt(3); i > 0; i--) {
        topics.add("m" + rnd.nextInt(6));
      }
      b.topics(topics);
    } else if (kind < 8) {
      // every topic: the whole stream's newest entries
    } else {
      List<String> topics = new ArrayList<>(); // more than are read one by one: the whole stream
      for (int i = 0; i <= RedisHistory.MAX_TOPIC_READS; i++) {
        topics.add("m" + i);
      }
      b.topics(topics);
    }
    if (rnd.nextInt(3) == 0) {
      b.attribute("method", "card");
    }
    return b.build();
  }

  @Test
  void concurrentSnapshotsOfATopicShareOneRedisRead() throws Exception {
    RedisStream stream = RedisStream.named("storm");
    RedisBus bus = bus(stream, 100, 1 << 20);
    RedisHistory expected = plain(stream);
    RedisPublisher publisher = track(RedisPublisher.create(redis.uri(), stream));
    await().atMost(Duration.ofSeconds(10)).until(() -> bus.status().link().isUp());
    EventId last = null;
    for (int i = 0; i < 400; i++) {
      last = publisher.publish("m" + i % 20, Map.of(), "{\"i\":" + i + "}");
    }
    awaitRouted(last);
    List<List<Event>> answers = new ArrayList<>();
    for (int t = 0; t < 20; t++) {
      answers.add(expected.latest(50, Subscription.builder().topics("m" + t).build()));
    }
    redis.cli("CONFIG", "RESETSTAT");
    ExecutorService pool = Executors.newFixedThreadPool(32);
    try {
      CountDownLatch go = new CountDownLatch(1);
      List<Future<?>> done = new ArrayList<>();
      for (int c = 0; c < 32; c++) {
        int client = c;
        done.add(pool.submit(() -> {
          go.await();
          for (int i = 0; i < 20; i++) {
            int t = (client + i) % 20;
            assertThat(bus.history().latest(50, Subscription.builder().topics("m" + t).build()))
                .isEqualTo(answers.get(t));
          }
          return null;
        }));
      }
      go.countDown();
      for (Future<?> f : done) {
        f.get(30, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
    // 640 snapshots of 20 topics: one XREVRANGE per topic, whoever asked first
    assertThat(redis.cli("INFO", "commandstats")).contains("cmdstat_xrevrange:calls=20,");
    SnapshotCacheStats stats = bus.status().snapshotCache();
    assertThat(stats.fills()).isEqualTo(20);
    assertThat(stats.hits()).isEqualTo(640);
    assertThat(stats.topics()).isEqualTo(20);
    assertThat(stats.events()).isEqualTo(400);
  }

  @Test
  void eventsDeliveredWhileATopicIsReadAreMerged() throws Exception {
    RedisStream stream = RedisStream.named("flow");
    RedisBus bus = bus(stream, 0, 1); // no cache of its own: the one below is fed by hand
    RedisHistory expected = plain(stream);
    RedisPublisher publisher = track(RedisPublisher.create(redis.uri(), stream));
    await().atMost(Duration.ofSeconds(10)).until(() -> bus.status().link().isUp());
    // Each read returns only once three events of its topic, published after it, were delivered:
    // the fill must merge them, as it must whenever deliveries overtake a read.
    SnapshotCache cache = new SnapshotCache(20, 1 << 20, MAX_SCAN, RedisHistory.MAX_TOPIC_READS,
        stream.retention(), (topic, count) -> {
          List<Event> read = expected.newestOfTopic(topic, count);
          for (int i = 0; i < 3; i++) {
            awaitRouted(publisher.publish(topic, Map.of(), "{\"during\":" + i + "}"));
          }
          return read;
        });
    bus.subscribe(new BusListener() {
      @Override
      public void onEvent(Event event) {
        cache.add(event);
      }

      @Override
      public void onDiscontinuity(String reason) {}
    });
    EventId last = null;
    for (int i = 0; i < 70; i++) {
      last = publisher.publish("m" + i % 7, Map.of(), "{\"i\":" + i + "}");
    }
    awaitRouted(last);
    for (int t = 0; t < 7; t++) {
      Subscription sub = Subscription.builder().topics("m" + t).build();
      List<Event> first = cache.latest(5, sub); // fills, and answers after the three
      assertThat(first).as("m%d", t).isEqualTo(expected.latest(5, sub));
      assertThat(first.get(4).data()).isEqualTo("{\"during\":2}");
      assertThat(cache.latest(20, sub)).as("m%d", t).isEqualTo(expected.latest(20, sub));
    }
    assertThat(cache.stats().fills()).isEqualTo(7);
  }

  @Test
  void badCacheSettingsAreRefusedWhenBuilt() {
    RedisBus.Builder b = RedisBus.builder(redis.uri(), RedisStream.named("bad"));
    assertThatThrownBy(() -> b.snapshotCache(-1, 1 << 20))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("snapshot cache events per topic must not be negative, got -1");
    assertThatThrownBy(() -> b.snapshotCache(100, 0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("snapshot cache bytes must be at least 1, got 0");
  }

  @Test
  void aBusWithTheCacheOffReadsEverySnapshotFromRedis() throws Exception {
    RedisStream stream = RedisStream.named("off");
    RedisBus bus = bus(stream, 0, 1);
    RedisPublisher publisher = track(RedisPublisher.create(redis.uri(), stream));
    await().atMost(Duration.ofSeconds(10)).until(() -> bus.status().link().isUp());
    awaitRouted(publisher.publish("m0", Map.of(), "{}"));
    Subscription sub = Subscription.builder().topics("m0").build();
    assertThat(bus.history().latest(5, sub)).hasSize(1);
    assertThat(bus.history().cache()).isNull();
    assertThat(bus.status().snapshotCache()).isEqualTo(new SnapshotCacheStats(0, 0, 0, 0, 0,
        0, 0));
  }
}
