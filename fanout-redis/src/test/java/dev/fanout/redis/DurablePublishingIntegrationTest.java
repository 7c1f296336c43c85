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
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.StreamEntryID;

/**
 * Publishing that waits for replicas ({@code minReplicas}): a primary and one replica, real
 * processes; the replica is stopped (SIGSTOP) to make it miss writes.
 */
class DurablePublishingIntegrationTest {
  @RegisterExtension final RedisServer primary =
      RedisServer.inMemoryWith("--repl-diskless-sync-delay", "0");
  private RedisServer replica;
  private final RedisStream stream = RedisStream.named("durable");

  @BeforeEach
  void startReplica() throws Exception {
    replica = RedisServer.inMemoryWith("--replicaof", "127.0.0.1",
        Integer.toString(primary.port()));
    replica.start();
    // After a diskless sync the primary counts the replica for WAIT only from its first
    // REPLCONF ACK (sent once a second), so "link up" is not enough: wait for state=online and
    // a WAIT that the replica answers.
    await().atMost(Duration.ofSeconds(20)).until(() ->
        SentinelRig.info(primary.port(), "replication").contains("state=online")
            && SentinelRig.info(replica.port(), "replication").contains("master_link_status:up")
            && primary.cli("WAIT", "1", "1000").trim().equals("1"));
  }

  @AfterEach
  void stopReplica() {
    replica.resume();
    replica.stop();
  }

  private RedisPublisher publisher(int replicas, Duration timeout) {
    return RedisPublisher.builder(primary.uri(), stream).minReplicas(replicas, timeout).build();
  }

  @Test
  void anAcknowledgedPublishIsOnTheReplicaWhenItReturns() {
    try (RedisPublisher p = publisher(1, Duration.ofSeconds(5))) {
      assertThat(p.minReplicas()).isEqualTo(1);
      assertThat(p.replicaTimeout()).isEqualTo(Duration.ofSeconds(5));
      for (int i = 0; i < 20; i++) {
        EventId id = p.publish("mch_1", Map.of(), "{\"i\":" + i + "}");
        assertThat(onReplica(id)).as("%s on the replica when publish returned", id).isTrue();
      }
    }
  }

  @Test
  void aPublishNoReplicaConfirmedFailsNamingTheCountReachedAndItsId() {
    // the publishes that must be confirmed wait longer: a loaded machine's replica may take
    // more than 300 ms to acknowledge
    try (RedisPublisher p = publisher(1, Duration.ofMillis(300));
        RedisPublisher patient = publisher(1, Duration.ofSeconds(5))) {
      patient.publish("mch_1", Map.of(), "{\"i\":0}");
      replica.pause();
      assertThatThrownBy(() -> p.publish("mch_1", Map.of(), "{\"i\":1}"))
          .isInstanceOfSatisfying(UnconfirmedPublishException.class, e -> {
            assertThat(e.replicasRequired()).isEqualTo(1);
            assertThat(e.replicasReached()).isZero();
            assertThat(e.id().seq()).isEqualTo(2);
            assertThat(e).hasMessageContaining("reached 0 of 1 replica within 300 ms")
                .hasMessageContaining(e.id().toString());
            assertThat(onPrimary(e.id())).as("Redis ran it: the event is in the stream").isTrue();
          });
      replica.resume();
      assertThat(patient.publish("mch_1", Map.of(), "{\"i\":2}").seq()).isEqualTo(3);
    }
  }

  @Test
  void moreReplicasThanThereAreReachOnlyThoseThereAre() {
    try (RedisPublisher p = publisher(2, Duration.ofSeconds(3))) {
      assertThatThrownBy(() -> p.publish("mch_1", Map.of(), "{}"))
          .isInstanceOfSatisfying(UnconfirmedPublishException.class, e -> {
            assertThat(e.replicasReached()).isEqualTo(1);
            assertThat(e).hasMessageContaining("reached 1 of 2 replicas");
          });
    }
  }

  @Test
  void pipelinedPublishesWaitOncePerBatchAndEachUnconfirmedOneKeepsItsId() throws Exception {
    try (RedisPublisher p = publisher(1, Duration.ofSeconds(2))) {
      primary.cli("CONFIG", "RESETSTAT");
      List<CompletableFuture<EventId>> ok = new ArrayList<>();
      for (int i = 0; i < 2000; i++) {
        ok.add(p.publishAsync("mch_" + i % 10, Map.of(), "{\"i\":" + i + "}"));
      }
      for (CompletableFuture<EventId> f : ok) {
        assertThat(onReplica(f.join())).isTrue();
      }
      long waits = calls("wait");
      assertThat(waits).as("one WAIT per pipeline, not per publish").isBetween(1L, 200L);
      assertThat(calls("fcall")).isLessThanOrEqualTo(waits * (PublishPipeline.MAX_BATCH
          / PublishPipeline.MAX_PER_CALL + 1));

      replica.pause();
      List<CompletableFuture<EventId>> unconfirmed = new ArrayList<>();
      for (int i = 0; i < 100; i++) {
        unconfirmed.add(p.publishAsync("mch_1", Map.of(), "{\"late\":" + i + "}"));
      }
      List<Long> seqs = new ArrayList<>();
      for (CompletableFuture<EventId> f : unconfirmed) {
        assertThatThrownBy(f::join).isInstanceOf(CompletionException.class)
            .cause().isInstanceOfSatisfying(UnconfirmedPublishException.class, e -> {
              assertThat(e.replicasReached()).isZero();
              assertThat(onPrimary(e.id())).isTrue();
              seqs.add(e.id().seq());
            });
      }
      assertThat(seqs).as("each its own id, in order").isSorted().doesNotHaveDuplicates()
          .hasSize(100).startsWith(2001L);
    }
  }

  @Test
  void theSettingIsCheckedWhenBuilt() {
    RedisPublisher.Builder b = RedisPublisher.builder(primary.uri(), stream);
    assertThatThrownBy(() -> b.minReplicas(1, Duration.ZERO))
        .hasMessageContaining("at least 1 ms");
    assertThatThrownBy(() -> b.minReplicas(-1, Duration.ofSeconds(1)))
        .hasMessageContaining("min replicas");
    try (RedisPublisher p = b.minReplicas(0, null).build()) {
      assertThat(p.minReplicas()).isZero();
      assertThat(p.replicaTimeout()).isZero();
    }
  }

  private long calls(String command) throws Exception {
    for (String line : primary.cli("INFO", "commandstats").split("\r?\n")) {
      if (line.startsWith("cmdstat_" + command + ":")) {
        int at = line.indexOf("calls=") + 6;
        return Long.parseLong(line.substring(at, line.indexOf(',', at)));
      }
    }
    return 0;
  }

  private boolean onReplica(EventId id) {
    return holds(replica.port(), id);
  }

  private boolean onPrimary(EventId id) {
    return holds(primary.port(), id);
  }

  private boolean holds(int port, EventId id) {
    StreamEntryID at = new StreamEntryID(id.seq(), 0);
    try (Jedis j = new Jedis("127.0.0.1", port)) {
      return !j.xrange(stream.streamKey(), at, at, 1).isEmpty();
    }
  }
}
