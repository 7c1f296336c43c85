package dev.fanout.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.fanout.core.Event;
import dev.fanout.core.EventId;
import dev.fanout.core.Hub;
import dev.fanout.core.InMemoryTransport;
import dev.fanout.core.Recovery;
import dev.fanout.core.Scope;
import dev.fanout.core.Subscription;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.StreamEntryID;
import redis.clients.jedis.args.ClientPauseMode;
import redis.clients.jedis.exceptions.JedisDataException;

/**
 * Redis under pressure, for real: {@code maxmemory} reached with {@code noeviction}; an eviction
 * policy that evicts fanout's keys; {@code MISCONF} (a snapshot that cannot be written); and
 * {@code CLIENT PAUSE WRITE}. One node (a bus and a hub with a live all-topic client) and one
 * publisher throughout.
 */
class RedisPressureIntegrationTest {
  private static final String FILLER = "x".repeat(10_000);

  // protected configs: the MISCONF test moves the snapshot's directory with CONFIG SET dir
  @RegisterExtension final RedisServer redis =
      RedisServer.inMemoryWith("--enable-protected-configs", "yes");
  private final RedisStream stream = RedisStream.named("pressure");
  private final List<AutoCloseable> closeables = new ArrayList<>();
  private RedisBus bus;
  private Hub hub;
  private InMemoryTransport live;
  private RedisPublisher publisher;
  private Jedis jedis;

  @BeforeEach
  void startNode() {
    bus = track(RedisBus.builder(redis.uri(), stream)
        .backoff(Duration.ofMillis(50), Duration.ofMillis(500)).build());
    hub = track(Hub.builder().bus(bus).history(bus.history()).build());
    await().atMost(Duration.ofSeconds(10)).until(() -> bus.status().link().isUp());
    live = new InMemoryTransport();
    hub.connect(live, Scope.all()).subscribe(Subscription.all());
    publisher = track(RedisPublisher.create(redis.uri(), stream));
    jedis = track(new Jedis(redis.uri()));
  }

  @AfterEach
  void stopAll() throws Exception {
    for (int i = closeables.size() - 1; i >= 0; i--) {
      closeables.get(i).close();
    }
  }

  private <T extends AutoCloseable> T track(T c) {
    closeables.add(c);
    return c;
  }

  private List<EventId> publish(int n, String label) {
    List<EventId> ids = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      ids.add(publisher.publish("mch_" + i % 5, Map.of("method", "card"),
          "{\"" + label + "\":" + i + "}"));
    }
    EventId last = ids.get(ids.size() - 1);
    await().atMost(Duration.ofSeconds(10)).until(() -> live.eventIds().contains(last.toString()));
    return ids;
  }

  /**
   * Writes 10 kB keys of its own until Redis refuses one (noeviction: then Redis is made to stay
   * over its limit, which the refused write's freed buffer would otherwise end) or {@code until}
   * holds.
   */
  private int fill(java.util.function.BooleanSupplier until) {
    jedis.configSet("maxmemory", Long.toString(usedMemory() + (2 << 20)));
    for (int i = 0; i < 100_000; i++) {
      if (until.getAsBoolean()) {
        return i;
      }
      try {
        jedis.set("filler:" + i, FILLER);
      } catch (JedisDataException e) {
        assertThat(e).hasMessageStartingWith("OOM");
        jedis.configSet("maxmemory", Long.toString(usedMemory() - (512 << 10)));
        return i;
      }
    }
    throw new AssertionError("100,000 fills and still not full");
  }

  private long usedMemory() {
    String info = jedis.info("memory");
    return Long.parseLong(info.replaceAll("(?s).*used_memory:(\\d+).*", "$1"));
  }

  /** What a failed publish could have touched: the meta hash, and every stream's length. */
  private String footprint() {
    StringBuilder s = new StringBuilder(jedis.hgetAll(stream.metaKey()).toString());
    s.append(" stream=").append(jedis.xlen(stream.streamKey()));
    for (int t = 0; t < 5; t++) {
      s.append(" mch_").append(t).append('=').append(jedis.xlen(stream.topicKey("mch_" + t)));
    }
    return s.toString();
  }

  /** The node still answers a fresh subscribe and a resume (from its memory), as Redis would. */
  private void assertServesSnapshotsAndResumes(List<EventId> ids) {
    List<Event> snapshot = bus.history().latest(5, Subscription.builder().topics("mch_1").build());
    assertThat(snapshot).hasSize(5);
    InMemoryTransport fresh = new InMemoryTransport();
    hub.connect(fresh, Scope.all()).subscribe(Subscription.all(), ids.get(20));
    assertThat(fresh.frames()).filteredOn(f -> f.startsWith("{\"type\":\"subscribed\""))
        .singleElement().asString().contains("\"recovered\":true");
    assertThat(fresh.eventIds()).containsExactlyElementsOf(
        ids.subList(21, ids.size()).stream().map(EventId::toString).toList());
  }

  /** The node still answers a resume from what Redis holds (not its memory). */
  private void assertServesHistory(List<EventId> ids) {
    assertServesSnapshotsAndResumes(ids);
    Recovery r = bus.history().since(ids.get(10), Subscription.all());
    assertThat(r.recovered()).as("%s", r).isTrue();
    assertThat(r.events()).extracting(Event::id).containsExactlyElementsOf(
        ids.subList(11, ids.size()));
    Recovery byTopic = bus.history().since(ids.get(10),
        Subscription.builder().topics("mch_1").build());
    assertThat(byTopic.recovered()).as("%s", byTopic).isTrue();
  }

  @Test
  void atMaxmemoryWithNoevictionAPublishFailsClearlyWritesNothingAndTheNodeKeepsServing() {
    List<EventId> ids = publish(50, "before");
    jedis.configSet("maxmemory-policy", "noeviction");
    fill(() -> false);
    String before = footprint();

    assertThatThrownBy(() -> publisher.publish("mch_1", Map.of(), "{\"full\":1}"))
        .isInstanceOf(FanoutRedisException.class)
        .hasMessageContaining("refused, nothing was written: Redis is out of memory")
        .hasMessageContaining("OOM command not allowed");
    CompletableFuture<EventId> async = publisher.publishAsync("mch_2", Map.of(), "{\"full\":2}");
    assertThatThrownBy(async::join).isInstanceOf(CompletionException.class)
        .hasMessageContaining("Redis is out of memory");
    assertThat(footprint()).as("no sequence number burnt, no partial write").isEqualTo(before);

    assertServesSnapshotsAndResumes(ids);
    await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(4))
        .until(() -> bus.status().link().isUp() && bus.status().downs() == 0);
    assertThat(live.isClosed()).isFalse();
    // the link is up, and the status says why publishes fail (the example server's /health)
    await().atMost(Duration.ofSeconds(10)).until(() -> bus.status().writesRefused() != null);
    assertThat(bus.status().writesRefused()).contains("over maxmemory")
        .contains("maxmemory-policy noeviction");

    jedis.configSet("maxmemory", "0");
    await().atMost(Duration.ofSeconds(10)).until(() -> bus.status().writesRefused() == null);
    EventId next = publisher.publish("mch_1", Map.of(), "{\"after\":1}");
    assertThat(next).isEqualTo(EventId.of(ids.get(0).epoch(), 51));
    await().until(() -> live.eventIds().contains(next.toString()));
    assertThat(live.frames()).noneMatch(f -> f.contains("\"recovered\":false") && !f.equals(
        live.frames().get(0)));
  }

  /**
   * Redis refuses every command queued in a MULTI over maxmemory (EXECABORT), reads included:
   * the history then reads the same commands as a plain pipeline (PartitionHistory.inOneRead).
   */
  @Test
  void atMaxmemoryAResumeIsReadFromWhatRedisHolds() {
    List<EventId> ids = publish(50, "before");
    jedis.configSet("maxmemory-policy", "noeviction");
    fill(() -> false);
    assertServesHistory(ids);
  }

  @Test
  void anEvictionPolicyThatEvictsTheStreamStartsANewEpochThatTheNodeAnnounces() {
    List<EventId> ids = publish(50, "before");
    jedis.configSet("maxmemory-policy", "allkeys-lru");
    int fills = fill(() -> !jedis.exists(stream.streamKey()) || !jedis.exists(stream.metaKey()));
    jedis.configSet("maxmemory", "0"); // the eviction happened; no more from here on
    assertThat(fills).isPositive();
    int framesBefore = live.frames().size();

    List<EventId> after = publish(20, "after");
    assertThat(after.get(0).epoch()).as("a new epoch").isNotEqualTo(ids.get(0).epoch());
    assertThat(after).extracting(EventId::seq).as("no wedge: contiguous from 1")
        .containsExactlyElementsOf(java.util.stream.LongStream.rangeClosed(1, 20).boxed()
            .toList());
    assertThat(live.frames().subList(framesBefore, live.frames().size()))
        .as("the node announced the loss").anyMatch(f -> f.contains("\"recovered\":false"));
    assertThat(bus.history().since(ids.get(49), Subscription.all()).recovered()).isFalse();
    assertThat(bus.history().since(ids.get(49), Subscription.builder().topics("mch_1").build())
        .recovered()).isFalse();
  }

  @Test
  void anEvictedTopicStreamIsALossNeverASilentHole() {
    List<EventId> ids = publish(50, "before");
    jedis.del(stream.topicKey("mch_1")); // as allkeys-lru evicts a quiet merchant's stream
    Subscription mch1 = Subscription.builder().topics("mch_1").build();
    assertThat(bus.history().since(ids.get(10), mch1).recovered())
        .as("before any publish: the resume sees the stream is gone").isFalse();

    EventId other = publisher.publish("mch_2", Map.of(), "{\"other\":1}");
    assertThat(other.epoch()).as("another topic's publish does not look").isEqualTo(
        ids.get(0).epoch());
    assertThat(bus.history().since(ids.get(10), mch1).recovered()).isFalse();

    EventId next = publisher.publish("mch_1", Map.of(), "{\"mch_1\":1}");
    assertThat(next.epoch()).as("its own publish starts afresh").isNotEqualTo(
        ids.get(0).epoch());
    assertThat(next.seq()).isEqualTo(1);
    await().until(() -> live.eventIds().contains(next.toString()));
    assertThat(bus.history().since(other, mch1).recovered()).isFalse();
  }

  @Test
  void anEvictedSetOfTopicStreamsIsALossAndLeavesNoStaleTopicStream() {
    List<EventId> ids = publish(50, "before");
    jedis.del(stream.topicsKey());
    assertThat(bus.history().since(ids.get(10), Subscription.builder().topics("mch_1").build())
        .recovered()).isFalse();
    List<EventId> after = publish(10, "after");
    assertThat(after.get(0).epoch()).isNotEqualTo(ids.get(0).epoch());
    assertThat(after.get(0).seq()).isEqualTo(1);
    for (int t = 0; t < 5; t++) { // each topic stream now holds only the new epoch's events
      assertThat(bus.history().latest(100, Subscription.builder().topics("mch_" + t).build()))
          .extracting(e -> e.id().epoch()).containsOnly(after.get(0).epoch());
    }
  }

  @Test
  void whenRedisCannotPersistAPublishFailsClearlyWritesNothingAndTheNodeKeepsServing()
      throws Exception {
    List<EventId> ids = publish(50, "before");
    Path unwritable = Files.createTempDirectory("fanout-misconf-");
    jedis.configSet("save", "3600 1");
    jedis.configSet("dir", unwritable.toString());
    Files.delete(unwritable); // the snapshot's directory is gone: BGSAVE fails
    jedis.bgsave();
    await().atMost(Duration.ofSeconds(10)).until(() ->
        jedis.info("persistence").contains("rdb_last_bgsave_status:err"));
    String before = footprint();

    assertThatThrownBy(() -> publisher.publish("mch_1", Map.of(), "{\"misconf\":1}"))
        .isInstanceOf(FanoutRedisException.class)
        .hasMessageContaining("refused, nothing was written: Redis cannot persist to disk")
        .hasMessageContaining("MISCONF");
    assertThat(footprint()).isEqualTo(before);
    assertServesHistory(ids);
    // Redis refuses PING too while it cannot persist: the node's watchdog takes the link for
    // down and says why (the example server's /health shows it: DEGRADED, redisError), reopening
    // it with backoff; no client is closed.
    await().atMost(Duration.ofSeconds(10)).until(() -> bus.status().downs() > 0);
    String reason = bus.status().downReason();
    long downs = bus.status().downs();
    assertThat(live.isClosed()).isFalse();

    Path writable = Files.createTempDirectory("fanout-misconf-");
    try {
      jedis.configSet("dir", writable.toString());
      jedis.bgsave();
      await().atMost(Duration.ofSeconds(10)).until(() ->
          jedis.info("persistence").contains("rdb_last_bgsave_status:ok"));
      EventId next = publisher.publish("mch_1", Map.of(), "{\"after\":1}");
      assertThat(next).isEqualTo(EventId.of(ids.get(0).epoch(), 51));
      await().atMost(Duration.ofSeconds(10)).until(() -> live.eventIds().contains(
          next.toString()) && bus.status().link().isUp());
      System.out.printf("MEASURE misconf link_downs=%d reason=%s%n", downs, reason);
      assertThat(reason).contains("MISCONF");
      assertThat(live.frames()).filteredOn(f -> f.contains("\"recovered\":false")).hasSize(1);
    } finally {
      jedis.configSet("save", "");
      RedisServer.deleteTree(writable);
    }
  }

  /**
   * CLIENT PAUSE WRITE for 5 s under a steady publisher: reads go on (a snapshot and a resume
   * answer during the pause), publishes wait and those past the command timeout are reported to
   * the publisher as timeouts, and afterwards the live client holds exactly the stream, with no
   * client closed or reset.
   */
  @Test
  void aFiveSecondWritePauseCostsTimeNeverEventsOrClients() throws Exception {
    List<EventId> ids = publish(20, "before");
    List<EventId> acknowledged = new java.util.concurrent.CopyOnWriteArrayList<>();
    List<String> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
    java.util.concurrent.atomic.AtomicLong slowest = new java.util.concurrent.atomic.AtomicLong();
    java.util.concurrent.atomic.AtomicBoolean running =
        new java.util.concurrent.atomic.AtomicBoolean(true);
    Thread load = new Thread(() -> {
      for (int i = 0; running.get(); i++) {
        long t = System.nanoTime();
        try {
          acknowledged.add(publisher.publish("mch_" + i % 5, Map.of(), "{\"load\":" + i + "}"));
        } catch (FanoutRedisException e) {
          failures.add(e.getMessage());
        }
        slowest.accumulateAndGet(System.nanoTime() - t, Math::max);
        java.util.concurrent.locks.LockSupport.parkNanos(5_000_000); // the load's pace
      }
    }, "pause-publisher");
    load.start();
    track(() -> {
      running.set(false);
      load.join(10_000);
    });
    await().until(() -> acknowledged.size() > 50);
    long downsBefore = bus.status().downs();
    jedis.clientPause(5000, ClientPauseMode.WRITE);
    long t0 = System.nanoTime();
    InMemoryTransport fresh = new InMemoryTransport();
    hub.connect(fresh, Scope.all()).subscribe(Subscription.builder().topics("mch_3").build());
    long subscribeMs = (System.nanoTime() - t0) / 1_000_000;
    Recovery during = bus.history().since(ids.get(5), Subscription.all());
    long readMs = (System.nanoTime() - t0) / 1_000_000;
    assertThat(during.recovered()).isTrue();
    await().atMost(Duration.ofSeconds(10)).until(() -> !failures.isEmpty());
    int afterPause = acknowledged.size();
    await().atMost(Duration.ofSeconds(20)).until(() -> acknowledged.size() > afterPause + 100);
    running.set(false);
    load.join(10_000);

    List<String> truth = jedis.xrange(stream.streamKey(), StreamEntryID
        .MINIMUM_ID, StreamEntryID.MAXIMUM_ID).stream()
        .map(e -> e.getFields().get("e") + ":" + e.getID().getTime()).toList();
    await().atMost(Duration.ofSeconds(10)).until(() -> live.eventIds().size() == truth.size());
    assertThat(live.eventIds()).as("exactly the stream, in order").isEqualTo(truth);
    assertThat(truth).containsAll(acknowledged.stream().map(EventId::toString).toList());
    assertThat(live.isClosed()).isFalse();
    assertThat(fresh.isClosed()).isFalse();
    assertThat(live.frames()).filteredOn(f -> f.contains("\"recovered\":false")).hasSize(1);
    System.out.printf("MEASURE client_pause_write subscribe_ms=%d resume_read_ms=%d "
            + "publish_failures=%d slowest_publish_ms=%d link_downs=%d first_failure=%s "
            + "events_in_stream_not_acknowledged=%d%n", subscribeMs, readMs, failures.size(),
        slowest.get() / 1_000_000, bus.status().downs() - downsBefore, failures.get(0),
        truth.size() - ids.size() - acknowledged.size());
    assertThat(failures.get(0)).contains("timed out");
  }
}
