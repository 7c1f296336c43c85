package dev.fanout.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Adaptive batching: a hot connection's events wait up to the linger and go out together. */
class BatchLingerTest {
  private static final Duration LINGER = Duration.ofMillis(800);

  private final ExecutorService senders = Executors.newSingleThreadExecutor();
  private final InMemoryStream stream = InMemoryStream.create();

  @AfterEach
  void stop() {
    senders.shutdownNow();
  }

  private Hub hub(Duration linger) {
    return Hub.builder().bus(stream).history(stream).sendExecutor(senders).batchLinger(linger)
        .build();
  }

  private List<String> publish(int n) {
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      ids.add(stream.publish("m1", Map.of(), "{}").toString());
    }
    return ids;
  }

  private static long eventFrames(InMemoryTransport t) {
    return t.frames().stream().filter(f -> !f.startsWith("{\"type\":\"subscribed\"")).count();
  }

  @Test
  void aBurstOnAHotConnectionGoesOutAsOneBatchAfterTheLinger() {
    InMemoryTransport t = new InMemoryTransport();
    hub(LINGER).connect(t, Scope.all()).subscribe(Subscription.all());

    List<String> ids = publish(1); // the connection is cold: this goes at once
    await().pollInterval(Duration.ofMillis(5)).atMost(LINGER.dividedBy(2))
        .until(() -> t.eventIds().size() == 1);
    ids.addAll(publish(9)); // within the linger of the first: hot, these wait for it

    await().atMost(Duration.ofSeconds(10)).until(() -> t.eventIds().size() == 10);
    assertThat(t.eventIds()).containsExactlyElementsOf(ids);
    assertThat(eventFrames(t)).isEqualTo(2);
    assertThat(t.frames().get(2)).startsWith("{\"type\":\"batch\"");
  }

  @Test
  void anEventOnAColdConnectionIsNotHeldBack() {
    InMemoryTransport t = new InMemoryTransport();
    hub(LINGER).connect(t, Scope.all()).subscribe(Subscription.all());

    List<String> ids = publish(1);

    // well inside the linger: it was not waited for
    await().atMost(LINGER.dividedBy(2)).until(() -> t.eventIds().equals(ids));
  }

  @Test
  void withoutLingerEveryEventIsSentAsSoonAsTheSocketIsFree() {
    InMemoryTransport t = new InMemoryTransport();
    hub(Duration.ZERO).connect(t, Scope.all()).subscribe(Subscription.all());

    List<String> ids = publish(10);

    await().atMost(LINGER.dividedBy(2)).until(() -> t.eventIds().size() == 10);
    assertThat(t.eventIds()).containsExactlyElementsOf(ids);
  }

  @Test
  void lingerOutsideItsRangeIsRefused() {
    assertThatThrownBy(() -> Hub.builder().batchLinger(Duration.ofMillis(-1)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("between 0 and 1 s");
    assertThatThrownBy(() -> Hub.builder().batchLinger(Duration.ofSeconds(2)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("PT2S");
  }
}
