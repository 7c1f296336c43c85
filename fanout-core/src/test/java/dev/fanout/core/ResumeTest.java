package dev.fanout.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyInt;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.when;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/** Snapshot and resume through the hub: subscribed first, then history, then live; no seams. */
class ResumeTest {
  private final InMemoryStream stream = InMemoryStream.create(100);
  private final RecordingMetrics metrics = new RecordingMetrics();
  private final Hub hub = Hub.builder().bus(stream).history(stream).metrics(metrics)
      .snapshotSize(3).outboxCapacity(100_000).build();

  private List<EventId> publish(int n, String topic) {
    List<EventId> ids = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      ids.add(stream.publish(topic, Map.of(), "{}"));
    }
    return ids;
  }

  private static List<String> strings(List<EventId> ids) {
    List<String> out = new ArrayList<>();
    ids.forEach(id -> out.add(id.toString()));
    return out;
  }

  @Test
  void aFreshSubscribeGetsTheSnapshotThenLive() {
    List<EventId> before = publish(5, "t");
    InMemoryTransport t = new InMemoryTransport();
    hub.connect(t, Scope.all()).subscribe(Subscription.all());
    List<EventId> after = publish(2, "t");

    assertThat(t.frames().get(0)).isEqualTo("{\"type\":\"subscribed\",\"recovered\":false,"
        + "\"missed\":0,\"replay\":3,\"position\":\"" + before.get(4) + "\"}");
    List<String> expected = strings(before.subList(2, 5));
    expected.addAll(strings(after));
    assertThat(t.eventIds()).isEqualTo(expected);
  }

  @Test
  void aResumeGetsExactlyWhatWasMissed() {
    List<EventId> ids = publish(10, "t");
    InMemoryTransport t = new InMemoryTransport();
    boolean recovered = hub.connect(t, Scope.all()).subscribe(Subscription.all(), ids.get(3));

    assertThat(recovered).isTrue();
    assertThat(t.frames().get(0)).isEqualTo("{\"type\":\"subscribed\",\"recovered\":true,"
        + "\"missed\":6,\"replay\":6,\"position\":\"" + ids.get(9) + "\"}");
    assertThat(t.eventIds()).isEqualTo(strings(ids.subList(4, 10)));
    assertThat(metrics.get("recovered")).isEqualTo(1);
  }

  @Test
  void aClientThatHeardNothingResumesFromThePositionItWasGiven() {
    publish(1, "other");
    InMemoryTransport first = new InMemoryTransport();
    Connection c = hub.connect(first, Scope.all());
    c.subscribe(Subscription.builder().topics("quiet").build());
    String subscribed = first.frames().get(0);
    String position = subscribed.replaceAll(".*\"position\":\"([^\"]+)\".*", "$1");
    assertThat(first.eventIds()).isEmpty(); // nothing to take a resume point from
    c.close(1001, "bye");

    publish(2, "other");
    List<EventId> missed = publish(2, "quiet");
    InMemoryTransport second = new InMemoryTransport();
    boolean recovered = hub.connect(second, Scope.all())
        .subscribe(Subscription.builder().topics("quiet").build(), EventId.parse(position));

    assertThat(recovered).isTrue();
    assertThat(second.eventIds()).isEqualTo(strings(missed));
  }

  @Test
  void aHubStartedOnAStreamWithHistoryOffersItsTopAsThePosition() {
    InMemoryStream existing = InMemoryStream.create(100);
    EventId top = existing.publish("other", Map.of(), "{}");
    Hub late = Hub.builder().bus(existing).history(existing).build(); // routed nothing yet
    InMemoryTransport t = new InMemoryTransport();
    late.connect(t, Scope.all()).subscribe(Subscription.builder().topics("quiet").build());

    assertThat(t.frames().get(0)).endsWith(",\"position\":\"" + top + "\"}");
  }

  @Test
  void anUnrecoverableResumeSaysSoAndSendsAFreshSnapshot() {
    List<EventId> ids = publish(150, "t"); // retention 100: seqs 1..50 are gone
    InMemoryTransport t = new InMemoryTransport();
    boolean recovered = hub.connect(t, Scope.all()).subscribe(Subscription.all(), ids.get(10));

    assertThat(recovered).isFalse();
    assertThat(t.frames().get(0)).isEqualTo("{\"type\":\"subscribed\",\"recovered\":false,"
        + "\"missed\":0,\"replay\":3,\"position\":\"" + ids.get(149) + "\"}");
    assertThat(t.eventIds()).isEqualTo(strings(ids.subList(147, 150)));
    assertThat(metrics.get("notRecovered")).isEqualTo(1);
  }

  @Test
  void resumeAppliesTheScope() {
    publish(3, "mine");
    EventId from = stream.lastId();
    List<EventId> mine = publish(2, "mine");
    publish(2, "theirs");
    InMemoryTransport t = new InMemoryTransport();
    hub.connect(t, Scope.of("mine")).subscribe(Subscription.all(), from);
    assertThat(t.eventIds()).isEqualTo(strings(mine));
  }

  @Test
  void anUnavailableHistoryClosesWith1013SoTheClientRetriesInsteadOfLosingItsPlace() {
    History broken = mock(History.class);
    when(broken.latest(anyInt(), any())).thenThrow(new FanoutException("redis down"));
    when(broken.since(any(EventId.class), any())).thenThrow(new FanoutException("redis down"));
    Hub h = Hub.builder().bus(stream).history(broken).build();
    InMemoryTransport resuming = new InMemoryTransport();
    Connection c = h.connect(resuming, Scope.all());
    assertThat(c.subscribe(Subscription.all(), EventId.of("x", 1))).isFalse();
    assertThat(resuming.closeCode()).isEqualTo(1013);
    assertThat(resuming.frames()).isEmpty();
    assertThat(c.isOpen()).isFalse();

    InMemoryTransport fresh = new InMemoryTransport();
    h.connect(fresh, Scope.all()).subscribe(Subscription.all());
    assertThat(fresh.closeCode()).isEqualTo(1013);
    assertThat(h.connectionCount()).isZero();
  }

  @Test
  void aDiscontinuityOnTheBusResyncsEveryConnection() {
    InMemoryTransport t = new InMemoryTransport();
    hub.connect(t, Scope.all()).subscribe(Subscription.all());
    publish(2, "t");
    stream.reset();
    EventId fresh = publish(1, "t").get(0);

    // the resync reads history off the bus's thread
    await().atMost(Duration.ofSeconds(10)).until(() -> t.eventIds().contains(fresh.toString()));
    List<String> frames = t.frames();
    assertThat(frames.stream().filter(f -> f.contains("\"type\":\"subscribed\""))).hasSize(2);
    // after a discontinuity the node knows no position until the next event: none, or that one;
    // the fresh event comes live, or in the snapshot when it was stored before the read
    String reset = "{\"type\":\"subscribed\",\"recovered\":false,\"missed\":0,";
    assertThat(frames.get(frames.size() - 2)).isIn(reset + "\"replay\":0}",
        reset + "\"replay\":1}", reset + "\"replay\":1,\"position\":\"" + fresh + "\"}");
    assertThat(t.eventIds()).endsWith(fresh.toString());
  }

  /**
   * Events published while a resume reads history land neither twice nor never: the ids the
   * client sees are exactly the contiguous run after its last id.
   */
  @Test
  void resumeDuringAConcurrentPublishHasNoGapAndNoDuplicate() throws Exception {
    for (int round = 0; round < 50; round++) {
      InMemoryStream s = InMemoryStream.create(100_000);
      Hub h = Hub.builder().bus(s).history(s).outboxCapacity(100_000).build();
      EventId from = s.publish("t", Map.of(), "{}");
      AtomicBoolean stop = new AtomicBoolean();
      CountDownLatch started = new CountDownLatch(1);
      Thread publisher = new Thread(() -> {
        started.countDown();
        for (int i = 0; i < 20_000 && !stop.get(); i++) {
          s.publish("t", Map.of(), "{}");
        }
      });
      publisher.start();
      assertThat(started.await(5, TimeUnit.SECONDS)).isTrue();
      InMemoryTransport t = new InMemoryTransport();
      h.connect(t, Scope.all()).subscribe(Subscription.all(), from);
      stop.set(true);
      publisher.join(10_000);

      List<String> got = t.eventIds();
      long last = s.lastId().seq();
      assertThat(got).hasSize((int) (last - 1));
      for (int i = 0; i < got.size(); i++) {
        assertThat(EventId.parse(got.get(i)).seq()).isEqualTo(i + 2L);
      }
    }
  }
}
