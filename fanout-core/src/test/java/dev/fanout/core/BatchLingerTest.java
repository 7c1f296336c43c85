package dev.fanout.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fanout.core.internal.FakeScheduler;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Adaptive batching: a hot connection's events wait up to the linger and go out together. Time
 * is the fake scheduler's and the send executor runs its tasks at once, so nothing waits.
 */
class BatchLingerTest {
  private static final Duration LINGER = Duration.ofMillis(2);

  private final FakeScheduler clock = new FakeScheduler();
  private final InMemoryStream stream = InMemoryStream.create();

  private Hub hub(Duration linger) {
    return Hub.builder().bus(stream).history(stream).sendExecutor(Runnable::run)
        .batchLinger(linger).scheduler(clock).build();
  }

  private List<String> publish(int n) {
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      ids.add(stream.publish("m1", Map.of(), "{}").toString());
    }
    return ids;
  }

  private static List<String> eventFrames(InMemoryTransport t) {
    return t.frames().stream().filter(f -> !f.startsWith("{\"type\":\"subscribed\"")).toList();
  }

  @Test
  void aBurstOnAHotConnectionGoesOutAsOneBatchAfterTheLinger() {
    InMemoryTransport t = new InMemoryTransport();
    hub(LINGER).connect(t, Scope.all()).subscribe(Subscription.all());

    List<String> ids = publish(1); // the connection is cold: this goes at once
    assertThat(t.eventIds()).isEqualTo(ids);
    clock.advance(LINGER.dividedBy(2));
    ids.addAll(publish(9)); // within the linger of the first: hot, these wait for it

    clock.advance(LINGER.minusNanos(1));
    assertThat(t.eventIds()).as("not before the linger is up").hasSize(1);
    clock.advance(Duration.ofNanos(1));
    assertThat(t.eventIds()).containsExactlyElementsOf(ids);
    assertThat(eventFrames(t)).hasSize(2);
    assertThat(eventFrames(t).get(1)).startsWith("{\"type\":\"batch\"");
    assertThat(clock.pending()).isZero();
  }

  @Test
  void anEventOnAColdConnectionIsNotHeldBack() {
    InMemoryTransport t = new InMemoryTransport();
    hub(LINGER).connect(t, Scope.all()).subscribe(Subscription.all());

    List<String> ids = publish(1);
    clock.advance(LINGER.multipliedBy(2)); // it has cooled down again
    ids.addAll(publish(1));

    assertThat(t.eventIds()).as("neither waited for the clock").isEqualTo(ids);
    assertThat(clock.pending()).isZero();
  }

  @Test
  void withoutLingerEveryEventIsSentAsSoonAsTheSocketIsFree() {
    InMemoryTransport t = new InMemoryTransport();
    hub(Duration.ZERO).connect(t, Scope.all()).subscribe(Subscription.all());

    List<String> ids = publish(10);

    assertThat(t.eventIds()).containsExactlyElementsOf(ids);
    assertThat(eventFrames(t)).hasSize(10);
    assertThat(clock.pending()).isZero();
  }

  @Test
  void lingerOutsideItsRangeIsRefused() {
    assertThatThrownBy(() -> Hub.builder().batchLinger(Duration.ofMillis(-1)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("between 0 and 1 s");
    assertThatThrownBy(() -> Hub.builder().batchLinger(Duration.ofSeconds(2)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("PT2S");
  }
}
