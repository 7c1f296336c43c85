package dev.fanout.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fanout.core.internal.FakeScheduler;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * What the hub tells a partitioned bus to receive: the partitions its connections follow, new
 * ones at once, unneeded ones let go late and together, never one still followed; and a loss on
 * one partition resynchronizes only the connections that follow it.
 */
class PartitionNeedsTest {
  private final FakeScheduler clock = new FakeScheduler();
  private final InMemoryStream stream = InMemoryStream.partitioned(8, 1000, 1000);
  private final List<Set<Integer>> asked = new ArrayList<>();
  private final Bus bus = new RecordingBus();
  private final PartitionNeeds needs = new PartitionNeeds(bus, clock,
      Duration.ofSeconds(2).toNanos(), p -> { });

  /** The stream, recording what it is told to receive. */
  private final class RecordingBus implements Bus {
    @Override
    public EventId publish(String topic, Map<String, String> attributes, String data) {
      return stream.publish(topic, attributes, data);
    }

    @Override
    public AutoCloseable subscribe(BusListener listener) {
      return stream.subscribe(listener);
    }

    @Override
    public Partitioning partitioning() {
      return stream.partitioning();
    }

    @Override
    public CompletableFuture<Void> need(Set<Integer> partitions) {
      asked.add(Set.copyOf(partitions));
      return stream.need(partitions);
    }

    @Override
    public void close() {}
  }

  /** Topics of distinct partitions: topic(i) is in partition i. */
  private String topic(int partition) {
    for (int i = 0; ; i++) {
      if (stream.partitioning().partitionOf("t" + i) == partition) {
        return "t" + i;
      }
    }
  }

  private Subscription of(int... partitions) {
    List<String> topics = new ArrayList<>();
    for (int p : partitions) {
      topics.add(topic(p));
    }
    return Subscription.builder().topics(topics).build();
  }

  @Test
  void newPartitionsAreAskedForAtOnceAndFollowedOnesNotAgain() {
    needs.set("a", of(1, 3));
    needs.set("b", of(3));
    needs.set("c", of(3, 5));

    assertThat(asked).containsExactly(Set.of(1, 3), Set.of(1, 3, 5));
    assertThat(needs.live()).isCompleted();
  }

  @Test
  void allTopicsNeedEveryPartition() {
    needs.set("a", Subscription.all());

    assertThat(asked).containsExactly(Set.of(0, 1, 2, 3, 4, 5, 6, 7));
  }

  @Test
  void unneededPartitionsAreLetGoLateTogetherAndOnlyIfStillUnneeded() {
    needs.set("a", of(1));
    needs.set("b", of(2));
    needs.set("c", of(3));
    asked.clear();

    needs.set("a", null);
    needs.set("b", null);
    needs.set("c", null);
    needs.set("c2", of(3)); // back before the delay: it stays
    clock.advance(Duration.ofMillis(1999));
    assertThat(asked).as("nothing let go before the delay").isEmpty();
    clock.advance(Duration.ofMillis(1));

    assertThat(asked).as("one call for both").containsExactly(Set.of(3));
  }

  @Test
  void aPartitionStillFollowedIsNeverLetGo() {
    needs.set("a", of(1, 2));
    needs.set("b", of(2));
    needs.set("a", of(4)); // a moves on; b still follows 2
    clock.advance(Duration.ofSeconds(3));

    assertThat(asked.get(asked.size() - 1)).isEqualTo(Set.of(2, 4));
  }

  @Test
  void countingIsIdempotentSoACloseRacingASubscribeCountsOnce() {
    needs.set("a", of(1));
    needs.set("a", null);
    needs.set("a", null); // the close and the subscribe's own clean-up both remove it
    needs.set("b", of(1));
    needs.set("b", null);
    clock.advance(Duration.ofSeconds(3));

    assertThat(asked.get(asked.size() - 1)).isEmpty();
    needs.set("c", of(1));
    assertThat(asked.get(asked.size() - 1)).isEqualTo(Set.of(1));
  }

  @Test
  void aLossOnOnePartitionResyncsOnlyTheConnectionsThatFollowIt() {
    try (Hub hub = Hub.builder().bus(stream).history(stream).build()) {
      InMemoryTransport one = new InMemoryTransport();
      InMemoryTransport two = new InMemoryTransport();
      InMemoryTransport all = new InMemoryTransport();
      hub.connect(one, Scope.all()).subscribe(of(1));
      hub.connect(two, Scope.all()).subscribe(of(2));
      hub.connect(all, Scope.all()).subscribe(Subscription.all());
      assertThat(hub.neededPartitions()).isEqualTo(Set.of(0, 1, 2, 3, 4, 5, 6, 7));
      stream.publish(topic(1), Map.of(), "{}");
      stream.publish(topic(2), Map.of(), "{}");

      stream.reset(1);
      stream.publish(topic(2), Map.of(), "{}");

      await().atMost(Duration.ofSeconds(10))
          .until(() -> subscribedFrames(one) == 2 && subscribedFrames(all) == 2);
      assertThat(subscribedFrames(two)).as("partition 2 lost nothing").isEqualTo(1);
      assertThat(two.eventIds()).hasSize(2);
      assertThat(one.frames().get(one.frames().size() - 1))
          .startsWith("{\"type\":\"subscribed\",\"recovered\":false");
    }
  }

  private static long subscribedFrames(InMemoryTransport t) {
    return t.frames().stream().filter(f -> f.startsWith("{\"type\":\"subscribed\"")).count();
  }
}
