package dev.fanout.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** A bus that reports lost events, and connections closing while they subscribe. */
class ResyncTest {
  /** A bus whose listener the test drives by hand. */
  static final class ManualBus implements Bus {
    volatile BusListener listener;

    @Override
    public EventId publish(String topic, Map<String, String> attributes, String data) {
      throw new UnsupportedOperationException();
    }

    @Override
    public AutoCloseable subscribe(BusListener l) {
      listener = l;
      return () -> {};
    }

    @Override
    public void close() {}
  }

  @Test
  void aResyncResumesFromTheLastEventSentNotTheLastQueued() {
    InMemoryStream history = InMemoryStream.create(100);
    ManualBus bus = new ManualBus();
    AtomicInteger resynced = new AtomicInteger();
    FanoutMetrics metrics = new FanoutMetrics() {
      @Override
      public void discontinuity(int connections) {
        resynced.addAndGet(connections);
      }
    };
    Hub hub = Hub.builder().bus(bus).history(history).metrics(metrics).snapshotSize(0).build();
    InMemoryTransport t = new InMemoryTransport();
    hub.connect(t, Scope.all()).subscribe(Subscription.all());
    t.stall();
    EventId first = history.publish("t", Map.of(), "{\"n\":1}");
    history.publish("t", Map.of(), "{\"n\":2}");
    history.publish("t", Map.of(), "{\"n\":3}");
    List<Event> events = history.latest(3, Subscription.all());
    events.forEach(bus.listener::onEvent); // 1 goes out (and waits), 2 and 3 queue behind it
    bus.listener.onDiscontinuity("a gap the stream could fill after all");
    t.resume();
    await().atMost(Duration.ofSeconds(10)).until(() -> t.eventIds().size() == 3);
    assertThat(t.eventIds()).containsExactly(events.stream().map(e -> e.id().toString())
        .toArray(String[]::new));
    assertThat(t.frames())
        .contains("{\"type\":\"subscribed\",\"recovered\":true,\"missed\":2,\"replay\":2}");
    assertThat(first).isEqualTo(events.get(0).id());
    assertThat(resynced.get()).as("counted: one connection resynced").isEqualTo(1);
    hub.close();
  }

  @Test
  void aResyncDoesNotRunOnTheBusThread() throws Exception {
    CountDownLatch blocked = new CountDownLatch(1);
    // a history that blocks until released: the bus thread must return at once
    CountDownLatch release2 = new CountDownLatch(1);
    History blocking = new History() {
      @Override
      public List<Event> latest(int limit, Subscription s) {
        return List.of();
      }

      @Override
      public Recovery since(EventId after, Subscription s) {
        blocked.countDown();
        try {
          release2.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        return Recovery.notRecovered(Recovery.Reason.OTHER_EPOCH, "test");
      }
    };
    ManualBus bus2 = new ManualBus();
    Hub hub2 = Hub.builder().bus(bus2).history(blocking).snapshotSize(0).build();
    InMemoryTransport t2 = new InMemoryTransport();
    hub2.connect(t2, Scope.all()).subscribe(Subscription.all());
    bus2.listener.onEvent(Event.of(EventId.of("e", 1), "t", Map.of(), "{}"));
    long start = System.nanoTime();
    bus2.listener.onDiscontinuity("test");
    assertThat(System.nanoTime() - start).isLessThan(TimeUnit.SECONDS.toNanos(2));
    assertThat(blocked.await(10, TimeUnit.SECONDS)).as("the read runs elsewhere").isTrue();
    // meanwhile the held connection is sent nothing from after the loss
    bus2.listener.onEvent(Event.of(EventId.of("f", 1), "t", Map.of(), "{}"));
    assertThat(t2.eventIds()).containsExactly("e:1");
    release2.countDown();
    await().atMost(Duration.ofSeconds(10)).until(() -> t2.eventIds().contains("f:1"));
    assertThat(t2.frames())
        .contains("{\"type\":\"subscribed\",\"recovered\":false,\"missed\":0,\"replay\":0}");
    hub2.close();
  }

  @Test
  void aConnectionClosedWhileItSubscribesNeverStaysInTheIndex() throws Exception {
    Hub hub = Hub.builder().build();
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      for (int i = 0; i < 2_000; i++) {
        Connection c = hub.connect(new InMemoryTransport(), Scope.all());
        CountDownLatch go = new CountDownLatch(1);
        Future<?> subscribe = pool.submit(() -> {
          go.await();
          c.subscribe(Subscription.builder().topics("t" + (c.id() % 7)).build());
          return null;
        });
        Future<?> close = pool.submit(() -> {
          go.await();
          c.transportClosed();
          return null;
        });
        go.countDown();
        subscribe.get(10, TimeUnit.SECONDS);
        close.get(10, TimeUnit.SECONDS);
      }
      assertThat(hub.connectionCount()).isZero();
      assertThat(hub.indexedConnections()).isZero();
    } finally {
      pool.shutdownNow();
      hub.close();
    }
  }

  @Test
  void clientsAreToldWhenTheBusGoesDownAndComesBack() {
    ManualBus bus = new ManualBus();
    Hub hub = Hub.builder().bus(bus).snapshotSize(0).build();
    InMemoryTransport before = new InMemoryTransport();
    hub.connect(before, Scope.all()).subscribe(Subscription.all());
    assertThat(hub.newestEventAgeMillis()).isEqualTo(-1);
    bus.listener.onEvent(Event.of(EventId.of("e", 1), "t", Map.of(), "{}",
        System.currentTimeMillis() - 5_000));
    assertThat(hub.newestEventAgeMillis()).isBetween(5_000L, 60_000L);

    bus.listener.onBusState(false);
    InMemoryTransport during = new InMemoryTransport();
    hub.connect(during, Scope.all()).subscribe(Subscription.all());
    bus.listener.onBusState(false); // said twice, sent once
    bus.listener.onBusState(true);

    String down = "{\"type\":\"bus\",\"state\":\"down\"}";
    String up = "{\"type\":\"bus\",\"state\":\"up\"}";
    assertThat(before.frames()).containsSubsequence(down, up);
    assertThat(before.frames().stream().filter(down::equals)).hasSize(1);
    assertThat(during.frames()).as("a subscribe while down is told right after 'subscribed'")
        .containsSubsequence("{\"type\":\"subscribed\",\"recovered\":false,\"missed\":0,"
            + "\"replay\":0,\"position\":\"e:1\"}", down, up);
    assertThat(hub.busUp()).isTrue();
    hub.close();
  }
}
