package dev.fanout.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class HubTest {
  private final InMemoryStream stream = InMemoryStream.create();
  private final RecordingMetrics metrics = new RecordingMetrics();
  private final Hub hub = Hub.builder().bus(stream).history(stream).metrics(metrics).build();

  private EventId pay(String merchant, String method) {
    return stream.publish(merchant, Map.of("method", method), "{\"m\":\"" + merchant + "\"}");
  }

  @Test
  void deliversOnlyWhatTheSubscriptionMatches() {
    InMemoryTransport t = new InMemoryTransport();
    Connection c = hub.connect(t, Scope.all());
    c.subscribe(Subscription.builder().topics("m1").attribute("method", "card").build());
    EventId wanted = pay("m1", "card");
    pay("m1", "sepa");
    pay("m2", "card");

    assertThat(t.frames()).containsExactly(
        "{\"type\":\"subscribed\",\"recovered\":false,\"missed\":0,\"replay\":0}",
        "{\"type\":\"event\",\"id\":\"" + wanted + "\",\"data\":{\"m\":\"m1\"}}");
    assertThat(metrics.get("routed")).isEqualTo(3);
    assertThat(metrics.get("recipients")).isEqualTo(1);
  }

  @Test
  void allTopicSubscribersAreLimitedByTheirScope() {
    InMemoryTransport wide = new InMemoryTransport();
    InMemoryTransport narrow = new InMemoryTransport();
    hub.connect(wide, Scope.all()).subscribe(Subscription.all());
    hub.connect(narrow, Scope.of("m2")).subscribe(Subscription.all());
    EventId e1 = pay("m1", "card");
    EventId e2 = pay("m2", "card");

    assertThat(wide.eventIds()).containsExactly(e1.toString(), e2.toString());
    assertThat(narrow.eventIds()).containsExactly(e2.toString());
  }

  @Test
  void aSubscriptionOutsideTheScopeReceivesNothing() {
    InMemoryTransport t = new InMemoryTransport();
    hub.connect(t, Scope.of("m2")).subscribe(Subscription.builder().topics("m1").build());
    pay("m1", "card");
    assertThat(t.eventIds()).isEmpty();
  }

  @Test
  void encodesEachEventOnceAndSharesTheFrame() {
    InMemoryTransport a = new InMemoryTransport();
    InMemoryTransport b = new InMemoryTransport();
    hub.connect(a, Scope.all()).subscribe(Subscription.all());
    hub.connect(b, Scope.all()).subscribe(Subscription.builder().topics("m1").build());
    pay("m1", "card");
    assertThat(a.frames().get(1)).isSameAs(b.frames().get(1));
  }

  @Test
  void aNewSubscribeReplacesThePreviousAndStartsWithItsSnapshot() {
    InMemoryTransport t = new InMemoryTransport();
    Connection c = hub.connect(t, Scope.all());
    c.subscribe(Subscription.builder().topics("m1").build());
    EventId m2 = pay("m2", "card");
    EventId m1 = pay("m1", "card");
    c.subscribe(Subscription.builder().topics("m2").build());
    EventId m2b = pay("m2", "card");
    pay("m1", "card");

    assertThat(t.eventIds()).containsExactly(m1.toString(), m2.toString(), m2b.toString());
    assertThat(c.subscription().topics()).containsExactly("m2");
  }

  @Test
  void aThrowingFilterIsContainedLoggedAndCounted() {
    InMemoryTransport bad = new InMemoryTransport();
    InMemoryTransport good = new InMemoryTransport();
    hub.connect(bad, Scope.all()).subscribe(Subscription.builder().filter(e -> {
      throw new IllegalStateException("consumer bug");
    }).build());
    hub.connect(good, Scope.all()).subscribe(Subscription.all());

    EventId e1 = pay("m1", "card");
    EventId e2 = pay("m2", "card");

    assertThat(good.eventIds()).containsExactly(e1.toString(), e2.toString());
    assertThat(bad.eventIds()).isEmpty();
    assertThat(bad.isClosed()).isFalse();
    assertThat(metrics.get("filterFailed")).isEqualTo(2);
  }

  @Test
  void aThrowingMetricsListenerNeverBreaksDelivery() {
    Hub h = Hub.builder().bus(stream).metrics(new FanoutMetrics() {
      @Override
      public void eventRouted(Event event, int recipients) {
        throw new IllegalStateException("broken metrics");
      }
    }).build();
    InMemoryTransport t = new InMemoryTransport();
    h.connect(t, Scope.all()).subscribe(Subscription.all());
    EventId e = pay("m1", "card");
    assertThat(t.eventIds()).containsExactly(e.toString());
  }

  @Test
  void closingRemovesTheConnectionFromEveryIndex() {
    InMemoryTransport t = new InMemoryTransport();
    Connection c = hub.connect(t, Scope.all());
    c.subscribe(Subscription.builder().topics("m1").build());
    assertThat(hub.connectionCount()).isEqualTo(1);

    c.close(1000, "bye");
    pay("m1", "card");

    assertThat(t.closeCode()).isEqualTo(1000);
    assertThat(t.eventIds()).isEmpty();
    assertThat(hub.connectionCount()).isZero();
    assertThat(c.isOpen()).isFalse();
    assertThat(metrics.get("opened")).isEqualTo(1);
    assertThat(metrics.get("closed")).isEqualTo(1);
  }

  @Test
  void aTransportClosedByTheClientIsForgottenWithoutACloseCall() {
    InMemoryTransport t = new InMemoryTransport();
    Connection c = hub.connect(t, Scope.all());
    c.subscribe(Subscription.all());
    c.transportClosed();
    pay("m1", "card");
    assertThat(t.isClosed()).isFalse();
    assertThat(hub.connectionCount()).isZero();
  }

  @Test
  void aFailedSendClosesOnlyThatConnectionWith1011() {
    InMemoryTransport failing = new InMemoryTransport();
    InMemoryTransport fine = new InMemoryTransport();
    hub.connect(failing, Scope.all()).subscribe(Subscription.all());
    hub.connect(fine, Scope.all()).subscribe(Subscription.all());
    failing.failNextSend();

    EventId e1 = pay("m1", "card");
    EventId e2 = pay("m1", "card");

    assertThat(failing.closeCode()).isEqualTo(1011);
    assertThat(fine.eventIds()).containsExactly(e1.toString(), e2.toString());
    assertThat(hub.connectionCount()).isEqualTo(1);
    assertThat(metrics.get("sendFailed")).isEqualTo(1);
  }

  @Test
  void closeStopsRoutingAndSaysGoingAwayToEveryConnection() {
    List<InMemoryTransport> ts = List.of(new InMemoryTransport(), new InMemoryTransport(),
        new InMemoryTransport());
    ts.forEach(t -> hub.connect(t, Scope.all()).subscribe(Subscription.all()));
    hub.close();
    pay("m1", "card");
    assertThat(ts).allSatisfy(t -> {
      assertThat(t.closeCode()).isEqualTo(1001);
      assertThat(t.eventIds()).isEmpty();
    });
    assertThat(hub.connectionCount()).isZero();
    InMemoryTransport late = new InMemoryTransport();
    Connection c = hub.connect(late, Scope.all());
    assertThat(c.subscribe(Subscription.all(), null)).as("no read once closed").isFalse();
  }

  @Test
  void aGivenHistoryExecutorReadsTheSubscribesAndIsLeftRunningByClose() throws Exception {
    ExecutorService owned = Executors.newSingleThreadExecutor(r -> new Thread(r, "owners"));
    try {
      List<String> readOn = new CopyOnWriteArrayList<>();
      History recording = new History() {
        @Override
        public List<Event> latest(int limit, Subscription subscription) {
          readOn.add(Thread.currentThread().getName());
          return stream.latest(limit, subscription);
        }

        @Override
        public Recovery since(EventId after, Subscription subscription) {
          return stream.since(after, subscription);
        }
      };
      Hub h = Hub.builder().bus(stream).history(recording).historyExecutor(owned).build();
      InMemoryTransport t = new InMemoryTransport();
      h.connect(t, Scope.all()).subscribe(Subscription.all());
      assertThat(readOn).containsExactly("owners");
      assertThat(t.frames().get(0)).startsWith("{\"type\":\"subscribed\"");
      h.close();
      assertThat(owned.isShutdown()).isFalse();
      assertThat(owned.submit(() -> "still mine").get(10, TimeUnit.SECONDS))
          .isEqualTo("still mine");
    } finally {
      owned.shutdownNow();
    }
  }

  @Test
  void controlFramesGoOutAheadOfQueuedEvents() {
    InMemoryTransport t = new InMemoryTransport();
    Connection c = hub.connect(t, Scope.all());
    c.subscribe(Subscription.all());
    t.stall();
    pay("m1", "card"); // in flight
    pay("m1", "card"); // queued
    c.sendError("bad_request", "no");
    t.resume();
    List<String> frames = t.frames();
    assertThat(frames.get(2))
        .isEqualTo("{\"type\":\"error\",\"code\":\"bad_request\",\"message\":\"no\"}");
    assertThat(frames.get(3)).contains("\"type\":\"event\"");
  }

  @Test
  void builderRejectsNonsenseWithMessagesThatSayWhatToFix() {
    assertThatThrownBy(() -> Hub.builder().outboxCapacity(0))
        .hasMessageContaining("outbox capacity must be at least 1");
    assertThatThrownBy(() -> Hub.builder().watermarks(10, 5)).hasMessageContaining("low < high");
    assertThatThrownBy(() -> Hub.builder().outboxCapacity(10).watermarks(1, 20).build())
        .hasMessageContaining("must not exceed the outbox capacity");
    assertThatThrownBy(() -> Hub.builder().maxBatch(0)).hasMessageContaining("max batch");
    assertThatThrownBy(() -> Hub.builder().snapshotSize(-1)).hasMessageContaining("snapshot");
    assertThatThrownBy(() -> Backpressure.disconnect(42, "x")).hasMessageContaining("1000..4999");
    assertThatThrownBy(() -> Hub.builder().batchLinger(Duration.ofMillis(5)).build())
        .hasMessageContaining("needs a send executor");
    assertThatThrownBy(() -> Hub.builder().historyReads(0, Duration.ofSeconds(1)))
        .hasMessageContaining("history threads must be at least 1, got 0");
    assertThatThrownBy(() -> Hub.builder().historyDeadline(Duration.ZERO))
        .hasMessageContaining("history deadline must be positive, got PT0S");
    assertThatThrownBy(() -> Hub.builder().historyReads(2, Duration.ofSeconds(1))
        .historyExecutor(Executors.newCachedThreadPool()).build())
        .hasMessageContaining("size the executor instead");
    Hub.builder().batchLinger(Duration.ZERO).build().close(); // no linger: nothing to need
  }
}
