package dev.fanout.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Many publishers and many subscribers at once, with sends completing on other threads: every
 * fast subscriber gets every matching event exactly once, in publish order.
 */
class HubConcurrencyTest {
  private static final int PUBLISHERS = 8;
  private static final int EVENTS_PER_PUBLISHER = 2_000;
  private static final int CONNECTIONS = 40;

  private final ExecutorService completions = Executors.newFixedThreadPool(4);
  private final ExecutorService publishers = Executors.newFixedThreadPool(PUBLISHERS);

  @AfterEach
  void stop() {
    completions.shutdownNow();
    publishers.shutdownNow();
  }

  @Test
  void everyFastSubscriberGetsEveryMatchingEventOnceInOrder() throws Exception {
    run(Hub.builder());
  }

  @Test
  void theSameWithASendExecutor() throws Exception {
    ExecutorService senders = Executors.newFixedThreadPool(2);
    try {
      run(Hub.builder().sendExecutor(senders));
    } finally {
      senders.shutdownNow();
    }
  }

  private void run(Hub.Builder builder) throws Exception {
    InMemoryStream stream = InMemoryStream.create(PUBLISHERS * EVENTS_PER_PUBLISHER);
    Hub hub = builder.bus(stream).history(stream).outboxCapacity(1_000_000).build();
    Random random = new Random(7);
    List<AsyncTransport> transports = new ArrayList<>();
    List<Subscription> subs = new ArrayList<>();
    for (int i = 0; i < CONNECTIONS; i++) {
      Subscription s = i % 4 == 0
          ? Subscription.all()
          : Subscription.builder().topics("m" + random.nextInt(5), "m" + random.nextInt(5))
              .attribute("method", i % 3 == 0 ? List.of("card") : List.of()).build();
      AsyncTransport t = new AsyncTransport(completions);
      hub.connect(t, Scope.all()).subscribe(s);
      transports.add(t);
      subs.add(s);
    }

    CountDownLatch go = new CountDownLatch(1);
    List<Future<?>> done = new ArrayList<>();
    for (int p = 0; p < PUBLISHERS; p++) {
      int publisher = p;
      done.add(publishers.submit(() -> {
        go.await();
        for (int i = 0; i < EVENTS_PER_PUBLISHER; i++) {
          stream.publish("m" + (i % 5), Map.of("method", i % 2 == 0 ? "card" : "sepa"),
              "{\"p\":" + publisher + ",\"i\":" + i + "}");
        }
        return null;
      }));
    }
    go.countDown();
    for (Future<?> f : done) {
      f.get(60, TimeUnit.SECONDS);
    }

    List<Event> all = stream.latest(Integer.MAX_VALUE, Subscription.all());
    assertThat(all).hasSize(PUBLISHERS * EVENTS_PER_PUBLISHER);
    for (int i = 0; i < CONNECTIONS; i++) {
      Subscription s = subs.get(i);
      List<String> expected = new ArrayList<>();
      for (Event e : all) {
        if (s.matches(e)) {
          expected.add(e.id().toString());
        }
      }
      AsyncTransport t = transports.get(i);
      await().atMost(Duration.ofSeconds(30))
          .until(() -> t.eventIds().size() >= expected.size());
      assertThat(t.eventIds()).as("connection %d (%s)", i, s).isEqualTo(expected);
    }
  }
}
