package dev.fanout.example;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fanout.redis.RedisServer;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Two nodes, one Redis, a few hundred resuming clients, a steady publisher, and a fault in the
 * middle. The oracle: every client gets every event of its merchants exactly once, in order,
 * with no reset it cannot explain. Set -Dfanout.soak.events=N for a longer soak run.
 */
class ReliabilityIntegrationTest {
  private static final int CLIENTS = 200;
  private static final int RATE = 300;
  private static final int EVENTS = Integer.getInteger("fanout.soak.events", 4_500);

  @RegisterExtension final RedisServer redis = RedisServer.withAppendOnly();
  private Cluster cluster;
  private ScheduledFuture<?> dropper;

  @AfterEach
  void close() throws Exception {
    if (dropper != null) {
      dropper.cancel(true);
    }
    if (cluster != null) {
      cluster.close();
    }
  }

  /** Starts the rig, with clients dropping and reconnecting at random throughout. */
  private void start() throws Exception {
    cluster = new Cluster(redis);
    cluster.addClients(CLIENTS);
    Random random = new Random(7);
    dropper = cluster.timer.scheduleAtFixedRate(
        () -> cluster.clients.get(random.nextInt(CLIENTS)).drop(), 100, 100,
        TimeUnit.MILLISECONDS);
    cluster.startPublishing(RATE);
    cluster.awaitPublished(EVENTS / 3);
  }

  private Verdict finish(String scenario) throws Exception {
    cluster.awaitPublished(EVENTS);
    dropper.cancel(false);
    cluster.stopPublishing();
    List<ResumingClient.Received> reference = cluster.reference();
    cluster.awaitCaughtUp(reference);
    Verdict v = Verdict.judge(reference, cluster.clients);
    long reconnects = cluster.clients.stream().mapToLong(c -> c.connects.get() - 1).sum();
    System.out.printf("MEASURE reliability %s events=%d reconnects=%d publish_failures=%d %s%n",
        scenario, reference.size(), reconnects, cluster.publishFailures.get(), v);
    return v;
  }

  @Test
  void randomDropsLoseNothing() throws Exception {
    start();
    Verdict v = finish("random_drops");
    assertThat(v.perfect()).as(v.toString()).isTrue();
    assertThat(v.unexplainedResets).isZero();
  }

  @Test
  void redisKilledAndRestartedLosesNothing() throws Exception {
    start();
    redis.kill();
    await().until(() -> cluster.publishFailures.get() > 0);
    redis.restart();
    Verdict v = finish("redis_killed_restarted_aof");
    assertThat(v.perfect()).as(v.toString()).isTrue();
    assertThat(v.unexplainedResets).isZero();
  }

  @Test
  void redisPausedTenSecondsLosesNothing() throws Exception {
    start();
    redis.pause();
    long t0 = System.nanoTime();
    await().pollDelay(Duration.ofSeconds(10)).atMost(Duration.ofSeconds(11))
        .until(() -> System.nanoTime() - t0 >= TimeUnit.SECONDS.toNanos(10)); // the fault's length
    redis.resume();
    Verdict v = finish("redis_paused_10s");
    assertThat(v.perfect()).as(v.toString()).isTrue();
    assertThat(v.unexplainedResets).isZero();
  }

  @Test
  void aNodeRestartMovesItsClientsWithoutLoss() throws Exception {
    start();
    cluster.stopNode(0); // its clients get 1001 and reconnect, to node 1 or to node 0 once back
    int at = cluster.published.get();
    cluster.awaitPublished(at + 600);
    cluster.startNode(0);
    Verdict v = finish("node_restart");
    assertThat(v.perfect()).as(v.toString()).isTrue();
    assertThat(v.unexplainedResets).isZero();
    assertThat(cluster.clients.stream().mapToInt(c -> c.closes.getOrDefault(1001,
        new AtomicInteger()).get()).sum()).isPositive();
  }

  @Test
  void aReconnectStormLosesNothingAndBoundsRedisLoad() throws Exception {
    start();
    long before = cluster.redisCommands();
    long t0 = System.nanoTime();
    cluster.clients.forEach(ResumingClient::drop); // every client at once
    await().atMost(Duration.ofSeconds(60)).until(() -> cluster.clients.stream()
        .allMatch(c -> c.connects.get() >= 2 && c.lastEventId() != null));
    long storm = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    long commands = cluster.redisCommands() - before;
    Verdict v = finish("reconnect_storm");
    System.out.printf("MEASURE reconnect_storm clients=%d all_back_ms=%d redis_commands=%d%n",
        CLIENTS, storm, commands);
    assertThat(v.perfect()).as(v.toString()).isTrue();
    assertThat(v.unexplainedResets).isZero();
    // each resume is one MULTI/EXEC read; the rest is the publisher and probes
    assertThat(commands).isLessThan(CLIENTS * 20L + storm * RATE * 6 / 1000 + 10_000);
  }
}
