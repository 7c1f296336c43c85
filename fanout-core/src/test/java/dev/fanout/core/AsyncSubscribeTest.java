package dev.fanout.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fanout.core.internal.FakeScheduler;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** A subscribe never waits on the store: its history is read on the hub's threads. */
class AsyncSubscribeTest {
  private final InMemoryStream stream = InMemoryStream.create(1000);
  private final CountDownLatch storeAnswers = new CountDownLatch(1);
  private final CountDownLatch storeAsked = new CountDownLatch(1);
  private Hub hub;

  /** The stream as history, whose snapshots wait until the test lets them through. */
  private final History slowStore = new History() {
    @Override
    public List<Event> latest(int limit, Subscription subscription) {
      storeAsked.countDown();
      try {
        storeAnswers.await(30, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return stream.latest(limit, subscription);
    }

    @Override
    public Recovery since(EventId after, Subscription subscription) {
      return stream.since(after, subscription);
    }
  };

  @AfterEach
  void close() {
    storeAnswers.countDown();
    hub.close();
  }

  @Test
  void theCallerReturnsAtOnceAndNothingIsLostWhileTheStoreIsSlow() {
    hub = Hub.builder().bus(stream).history(slowStore).build();
    EventId before = stream.publish("t", Map.of(), "{\"n\":1}");
    InMemoryTransport t = new InMemoryTransport();
    Connection c = hub.connect(t, Scope.all());
    CompletableFuture<Boolean> done = c.subscribeAsync(Subscription.all(), null);
    assertThat(done).isNotDone(); // the store has not answered, the caller is free
    EventId during = stream.publish("t", Map.of(), "{\"n\":2}"); // live, queued behind history
    assertThat(t.frames()).isEmpty();
    storeAnswers.countDown();
    await().until(done::isDone);
    assertThat(t.frames().get(0)).contains("\"type\":\"subscribed\"");
    assertThat(t.eventIds()).containsExactly(before.toString(), during.toString());
  }

  @Test
  void aReadThatWaitedPastTheDeadlineClosesWith1013InsteadOfReading() {
    FakeScheduler clock = new FakeScheduler();
    hub = Hub.builder().bus(stream).history(slowStore).scheduler(clock)
        .historyReads(1, Duration.ofSeconds(10)).build();
    InMemoryTransport first = new InMemoryTransport();
    hub.connect(first, Scope.all()).subscribeAsync(Subscription.all(), null); // holds the thread
    InMemoryTransport second = new InMemoryTransport();
    CompletableFuture<Boolean> queued =
        hub.connect(second, Scope.all()).subscribeAsync(Subscription.all(), null);
    await().until(() -> storeAsked.getCount() == 0); // the first is reading, in time
    clock.advance(Duration.ofSeconds(10).plusNanos(1));
    storeAnswers.countDown(); // the first answers; the second has waited past its deadline
    await().until(queued::isDone);
    assertThat(second.closeCode()).isEqualTo(1013);
    assertThat(second.closeReason()).isEqualTo("history busy, try again");
    await().until(() -> !first.frames().isEmpty());
    assertThat(first.isClosed()).isFalse();
  }

  @Test
  void aConnectionsSubscribesAreAnsweredOneAfterTheOtherInOrder() {
    hub = Hub.builder().bus(stream).history(slowStore).build();
    EventId a = stream.publish("a", Map.of(), "{}");
    EventId b = stream.publish("b", Map.of(), "{}");
    InMemoryTransport t = new InMemoryTransport();
    Connection c = hub.connect(t, Scope.all());
    CompletableFuture<Boolean> first =
        c.subscribeAsync(Subscription.builder().topics("a").build(), null);
    CompletableFuture<Boolean> second =
        c.subscribeAsync(Subscription.builder().topics("b").build(), null);
    storeAnswers.countDown();
    await().until(() -> first.isDone() && second.isDone());
    List<String> frames = t.frames();
    assertThat(frames.stream().filter(f -> f.contains("\"subscribed\""))).hasSize(2);
    assertThat(t.eventIds()).containsExactly(a.toString(), b.toString());
    assertThat(frames.get(frames.size() - 1)).contains(b.toString()); // b's answer came last
  }
}
