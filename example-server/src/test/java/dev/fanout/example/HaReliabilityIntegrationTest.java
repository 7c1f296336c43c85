package dev.fanout.example;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fanout.redis.RedisServer;
import dev.fanout.redis.SentinelRig;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The reliability rig (two nodes, 200 resuming clients dropping at random, a steady publisher) on
 * Redis as deployed: over TLS with a test CA, and through a Sentinel failover that loses the tail.
 */
class HaReliabilityIntegrationTest {
  private static final int CLIENTS = ReliabilityIntegrationTest.CLIENTS;
  private static final int RATE = ReliabilityIntegrationTest.RATE;
  private static final int EVENTS = ReliabilityIntegrationTest.EVENTS;

  private Cluster cluster;
  private AutoCloseable redis;

  @AfterEach
  void close() throws Exception {
    if (cluster != null) {
      cluster.close();
    }
    if (redis != null) {
      redis.close();
    }
  }

  @Test
  void overTlsRandomDropsLoseNothing() throws Exception {
    RedisServer tls = RedisServer.withTls();
    tls.start();
    redis = tls::stop;
    cluster = new Cluster(tls.tlsUri(), tls::port, c -> {});
    cluster.startScenario(CLIENTS, RATE, EVENTS);
    Verdict v = cluster.finishScenario("tls_random_drops", EVENTS);
    assertThat(v.perfect()).as(v.toString()).isTrue();
    assertThat(v.unexplainedResets).isZero();
  }

  @Test
  void aFailoverThatLosesTheTailWithTheNodesFirstIsExactOrAnnounced() throws Exception {
    failover(true);
  }

  @Test
  void aFailoverThatLosesTheTailWithThePublisherRacingIsExactOrAnnounced() throws Exception {
    failover(false);
  }

  /**
   * The replica stops receiving, events go on to the primary (and to clients), the primary is
   * killed, Sentinel promotes the replica. With {@code nodesFirst} the publisher pauses until both
   * nodes are back on the new primary (they find the stream's top below what they delivered and
   * bridge it themselves); without, it publishes throughout and races them to the new primary.
   */
  private void failover(boolean nodesFirst) throws Exception {
    SentinelRig rig = new SentinelRig();
    redis = rig;
    cluster = new Cluster(rig.uri(), rig::replicaPort, c -> {});
    cluster.startScenario(CLIENTS, RATE, EVENTS);
    rig.blackHoleReplication();
    int from = cluster.published.get();
    cluster.awaitPublished(from + 300); // a second of events the replica will never have
    if (nodesFirst) {
      cluster.pausePublishing(true);
    }
    long t0 = System.nanoTime();
    rig.killPrimary();
    long promoted = rig.awaitPromotion(t0);
    await().atMost(Duration.ofSeconds(30)).until(() -> cluster.redisUp());
    long nodesBack = System.nanoTime() - t0;
    cluster.pausePublishing(false);
    Verdict v = cluster.finishScenario(nodesFirst ? "failover_nodes_first"
        : "failover_publisher_racing", cluster.published.get() + EVENTS / 3);
    System.out.printf("MEASURE failover %s promoted_ms=%d nodes_back_ms=%d%n",
        nodesFirst ? "nodes_first" : "publisher_racing", promoted / 1_000_000,
        nodesBack / 1_000_000);
    assertThat(v.exactOrAnnounced()).as(v.toString()).isTrue();
    assertThat(v.unknown).as("clients had seen events Redis then lost").isPositive();
    assertThat(v.unexplainedResets).as("those clients were told").isPositive();
  }
}
