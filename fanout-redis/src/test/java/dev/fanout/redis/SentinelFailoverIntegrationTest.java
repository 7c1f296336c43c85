package dev.fanout.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fanout.core.Event;
import dev.fanout.core.EventId;
import dev.fanout.core.Hub;
import dev.fanout.core.InMemoryTransport;
import dev.fanout.core.Scope;
import dev.fanout.core.Subscription;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.StreamEntryID;
import redis.clients.jedis.resps.StreamEntry;

/**
 * A Sentinel failover that loses the tail: a primary, a replica that replicates through a proxy
 * the test black-holes, three sentinels. The primary is killed after events the replica never
 * got; Sentinel promotes the replica while the publisher keeps publishing. Two nodes with 100
 * connections each. The promoted primary's stream is the truth.
 */
class SentinelFailoverIntegrationTest {
  private final List<AutoCloseable> closeables = new ArrayList<>();
  private final List<Process> sentinels = new ArrayList<>();
  private final List<Path> dirs = new ArrayList<>();

  @AfterEach
  void stopAll() throws Exception {
    for (int i = closeables.size() - 1; i >= 0; i--) {
      closeables.get(i).close();
    }
    for (Process p : sentinels) {
      p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }

  private <T extends AutoCloseable> T track(T c) {
    closeables.add(c);
    return c;
  }

  private int startSentinel(int primaryPort) throws IOException {
    int port = RedisServer.freePort();
    Path dir = Files.createTempDirectory("fanout-sentinel-");
    dirs.add(dir);
    Path conf = dir.resolve("sentinel.conf");
    Files.writeString(conf, String.join("\n",
        "port " + port, "bind 127.0.0.1", "dir " + dir,
        "sentinel monitor mymaster 127.0.0.1 " + primaryPort + " 2",
        "sentinel down-after-milliseconds mymaster 1000",
        "sentinel failover-timeout mymaster 10000",
        "sentinel parallel-syncs mymaster 1", ""));
    sentinels.add(new ProcessBuilder("redis-server", conf.toString(), "--sentinel")
        .redirectErrorStream(true).redirectOutput(dir.resolve("out.log").toFile()).start());
    return port;
  }

  private static String info(int port, String section) {
    try (Jedis j = new Jedis("127.0.0.1", port)) {
      return j.info(section);
    }
  }

  @Test
  void aFailoverThatLostTheTailIsAnnouncedAndNoIdNamesTwoEvents() throws Exception {
    RedisServer primary = RedisServer.inMemory();
    primary.start();
    track(primary::stop);
    SilentProxy replication = track(new SilentProxy(primary.port()));
    RedisServer replica = RedisServer.inMemoryWith("--replicaof", "127.0.0.1",
        Integer.toString(replication.uri().getPort()));
    replica.start();
    track(replica::stop);
    await().atMost(Duration.ofSeconds(20))
        .until(() -> info(replica.port(), "replication").contains("master_link_status:up"));
    List<String> hosts = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      hosts.add("127.0.0.1:" + startSentinel(primary.port()));
    }
    int firstSentinel = Integer.parseInt(hosts.get(0).split(":")[1]);
    await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> {
      try (Jedis s = new Jedis("127.0.0.1", firstSentinel)) {
        return !s.sentinelReplicas("mymaster").isEmpty()
            && s.sentinelSentinels("mymaster").size() == 2;
      }
    });
    URI uri = URI.create("redis-sentinel://" + String.join(",", hosts) + "#mymaster");
    RedisStream stream = RedisStream.named("ha");

    List<List<InMemoryTransport>> nodes = new ArrayList<>();
    List<RedisBus> buses = new ArrayList<>();
    for (int n = 0; n < 2; n++) {
      RedisBus bus = track(RedisBus.builder(uri, stream)
          .backoff(Duration.ofMillis(50), Duration.ofMillis(500)).build());
      Hub hub = Hub.builder().bus(bus).history(bus.history()).snapshotSize(0).build();
      track(hub);
      await().atMost(Duration.ofSeconds(10)).until(() -> bus.linkState().isUp());
      List<InMemoryTransport> clients = new ArrayList<>();
      for (int i = 0; i < 100; i++) {
        InMemoryTransport t = new InMemoryTransport();
        hub.connect(t, Scope.all()).subscribe(i % 2 == 0 ? Subscription.all()
            : Subscription.builder().topics("mch_" + i % 5).build());
        clients.add(t);
      }
      buses.add(bus);
      nodes.add(clients);
    }

    RedisPublisher publisher = track(RedisPublisher.create(uri, stream));
    List<EventId> published = new CopyOnWriteArrayList<>();
    AtomicBoolean publishing = new AtomicBoolean(true);
    Thread load = new Thread(() -> {
      int i = 0;
      while (publishing.get()) {
        try {
          published.add(publisher.publish("mch_" + i % 5, Map.of(), "{\"i\":" + i + "}"));
          i++;
          Thread.sleep(5); // pacing a load generator, not synchronizing the test
        } catch (FanoutRedisException e) {
          // the primary is gone: a service retries, and so does this one
        } catch (InterruptedException e) {
          return;
        }
      }
    }, "failover-publisher");
    load.start();
    track(() -> {
      publishing.set(false);
      load.join(10_000);
    });
    await().until(() -> published.size() > 100);
    replication.goSilent(); // the replica stops receiving what follows
    int lostFrom = published.size();
    await().until(() -> published.size() > lostFrom + 50);
    EventId lastBeforeKill = published.get(published.size() - 1);
    // the nodes delivered events the replica does not have
    await().atMost(Duration.ofSeconds(10)).until(() -> nodes.stream().allMatch(clients ->
        clients.get(0).eventIds().contains(lastBeforeKill.toString())));
    long t0 = System.nanoTime();
    primary.kill();
    replication.close();
    await().atMost(Duration.ofSeconds(60)).until(() -> info(replica.port(), "replication")
        .contains("role:master"));
    long promoted = System.nanoTime() - t0;
    await().atMost(Duration.ofSeconds(30)).until(() -> !published.isEmpty()
        && !published.get(published.size() - 1).epoch().equals(lastBeforeKill.epoch()));
    long firstAfter = System.nanoTime() - t0;
    int after = published.size();
    await().atMost(Duration.ofSeconds(30)).until(() -> published.size() > after + 100);
    publishing.set(false);
    load.join(10_000);
    EventId last = published.get(published.size() - 1);
    await().atMost(Duration.ofSeconds(30)).until(() -> nodes.stream().allMatch(clients ->
        clients.get(0).eventIds().contains(last.toString())));
    long caughtUp = System.nanoTime() - t0;

    // The truth: the promoted primary's stream.
    Map<String, String> truth = new HashMap<>();
    try (Jedis j = new Jedis("127.0.0.1", replica.port())) {
      for (StreamEntry e : j.xrange(stream.streamKey(), StreamEntryID.MINIMUM_ID,
          StreamEntryID.MAXIMUM_ID)) {
        Event event = RedisHistory.toEvent(e);
        truth.put(event.id().toString(), event.data());
      }
    }
    assertThat(truth).containsKey(last.toString());
    int lostEvents = 0;
    for (EventId id : published) {
      if (!truth.containsKey(id.toString())) {
        lostEvents++;
      }
    }
    int reset = 0;
    for (List<InMemoryTransport> clients : nodes) {
      for (InMemoryTransport t : clients) {
        reset += judge(t, truth, published) ? 1 : 0;
      }
    }
    System.out.printf("MEASURE sentinel_failover promoted_ms=%d first_publish_after_ms=%d "
            + "all_caught_up_ms=%d events_lost_by_redis=%d clients_told_recovered_false=%d/200%n",
        promoted / 1_000_000, firstAfter / 1_000_000, caughtUp / 1_000_000, lostEvents, reset);
    assertThat(lostEvents).as("the replica lacked the tail").isPositive();
    assertThat(reset).as("every client that saw a lost event was told").isPositive();
  }

  private static final Pattern EVENT =
      Pattern.compile("\\{\"type\":\"event\",\"id\":\"([^\"]+)\",\"data\":(\\{[^}]*\\})\\}");

  /**
   * Checks one client's frames against the truth: every event it holds was an event of the
   * stream with that id and that payload (a lost one only if a reset follows before anything of
   * the new epoch), in order, without duplicates; after its last reset it has every event of the
   * truth from then on. Returns whether it was told recovered:false.
   */
  private static boolean judge(InMemoryTransport t, Map<String, String> truth,
      List<EventId> published) {
    List<String> frames = t.frames();
    boolean told = false;
    EventId previous = null;
    boolean heldLost = false;
    for (String f : frames) {
      if (f.startsWith("{\"type\":\"subscribed\"")) {
        if (f.contains("\"recovered\":false") && previous != null) {
          told = true;
          heldLost = false;
          previous = null;
        }
        continue;
      }
      Matcher m = EVENT.matcher(f);
      while (m.find()) {
        String id = m.group(1);
        String data = m.group(2);
        EventId eid = EventId.parse(id);
        if (truth.containsKey(id)) {
          assertThat(data).as("payload of %s", id).isEqualTo(truth.get(id));
          assertThat(heldLost).as("%s after a lost event without recovered:false", id).isFalse();
        } else {
          heldLost = true; // lost in the failover: a reset must come before anything newer
        }
        if (previous != null && previous.sameEpoch(eid)) {
          assertThat(eid.seq()).as("order after %s", previous).isGreaterThan(previous.seq());
        }
        previous = eid;
      }
    }
    return told;
  }
}
