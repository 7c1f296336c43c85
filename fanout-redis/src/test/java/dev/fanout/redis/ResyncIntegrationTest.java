package dev.fanout.redis;

import dev.fanout.core.LinkState;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fanout.core.EventId;
import dev.fanout.core.Hub;
import dev.fanout.core.InMemoryTransport;
import dev.fanout.core.Scope;
import dev.fanout.core.Subscription;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** A discontinuity with 10,000 connections: every one is resynced, and the link stays up. */
class ResyncIntegrationTest {
  @RegisterExtension final RedisServer redis = RedisServer.inMemory();

  @Test
  void tenThousandConnectionsAreResyncedWhileTheLinkStaysUp() throws Exception {
    RedisStream stream = RedisStream.named("resync");
    List<LinkState> states = new CopyOnWriteArrayList<>();
    try (RedisBus bus = RedisBus.builder(redis.uri(), stream).onLinkChange(states::add).build();
        RedisPublisher publisher = RedisPublisher.create(redis.uri(), stream)) {
      Hub hub = Hub.builder().bus(bus).history(bus.history()).snapshotSize(5).build();
      await().until(() -> bus.status().link().isUp());
      publisher.publish("mch_0", Map.of(), "{}");
      List<InMemoryTransport> clients = new ArrayList<>();
      for (int i = 0; i < 10_000; i++) {
        InMemoryTransport t = new InMemoryTransport();
        hub.connect(t, Scope.all()).subscribe(Subscription.builder().topics("mch_" + i % 100)
            .build());
        clients.add(t);
      }
      states.clear();
      // Redis loses the stream: the next publish starts afresh, and the node must resync all.
      redis.cli("DEL", stream.metaKey(), stream.streamKey());
      EventId fresh = publisher.publish("mch_0", Map.of(), "{}");
      long t0 = System.nanoTime();
      await().atMost(Duration.ofSeconds(120)).until(() -> clients.stream().allMatch(t ->
          t.frames().stream().filter(f -> f.contains("\"subscribed\"")).count() == 2));
      System.out.printf("MEASURE resync_10000 ms=%d%n", (System.nanoTime() - t0) / 1_000_000);
      assertThat(states).as("the link never went down during the resync").isEmpty();
      assertThat(clients).allMatch(t -> t.frames().stream()
          .anyMatch(f -> f.startsWith("{\"type\":\"subscribed\",\"recovered\":false")));
      await().until(() -> clients.get(0).eventIds().contains(fresh.toString()));
      EventId after = publisher.publish("mch_1", Map.of(), "{}");
      await().until(() -> clients.get(1).eventIds().contains(after.toString()));
      hub.close();
    }
  }
}
