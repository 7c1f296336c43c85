package dev.fanout.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The hub's memory of recent events answers a resume exactly as the store would: same recovered
 * flag, same events, over random histories with trims, discontinuities, node restarts and
 * resumes from every kind of id.
 */
class RecentHistoryTest {
  private static final String[] TOPICS = {"a", "b", "c", "d"};
  private static final String[] METHODS = {"card", "sepa"};

  /** The store, counting the resumes it is asked. */
  static final class CountingStore implements History {
    final InMemoryStream stream;
    final AtomicInteger sinceCalls = new AtomicInteger();

    CountingStore(InMemoryStream stream) {
      this.stream = stream;
    }

    @Override
    public List<Event> latest(int limit, Subscription subscription) {
      return stream.latest(limit, subscription);
    }

    @Override
    public Recovery since(EventId after, Subscription subscription) {
      sinceCalls.incrementAndGet();
      return stream.since(after, subscription);
    }

    @Override
    public long recoveryLimit() {
      return stream.recoveryLimit();
    }
  }

  private static Subscription randomSubscription(Random r) {
    Subscription.Builder b = Subscription.builder();
    if (r.nextBoolean()) {
      List<String> topics = new ArrayList<>();
      for (String t : TOPICS) {
        if (r.nextInt(3) == 0) {
          topics.add(t);
        }
      }
      b.topics(topics.isEmpty() ? List.of("a") : topics);
    }
    if (r.nextInt(3) == 0) {
      b.attribute("method", METHODS[r.nextInt(METHODS.length)]);
    }
    return b.build();
  }

  @Test
  void resumesFromMemoryAnswerExactlyAsTheStoreOverRandomHistories() {
    for (long seed = 0; seed < 300; seed++) {
      Random r = new Random(seed);
      int retention = 5 + r.nextInt(60);
      InMemoryStream stream = InMemoryStream.create(retention);
      CountingStore store = new CountingStore(stream);
      int capacity = 1 + r.nextInt(90); // smaller and larger than the store's retention
      Hub hub = Hub.builder().bus(stream).history(store).recentEvents(capacity).build();
      List<EventId> seen = new ArrayList<>(); // ids of every epoch, for resumes
      int fromMemory = 0;
      for (int step = 0; step < 400; step++) {
        int op = r.nextInt(100);
        if (op < 60) {
          seen.add(stream.publish(TOPICS[r.nextInt(TOPICS.length)],
              Map.of("method", METHODS[r.nextInt(METHODS.length)]), "{\"n\":" + step + "}"));
        } else if (op < 62) {
          stream.reset(); // a discontinuity: a new epoch
        } else if (op < 64) {
          hub.close(); // the node restarts: its memory starts empty
          hub = Hub.builder().bus(stream).history(store).recentEvents(capacity).build();
        } else if (!seen.isEmpty()) {
          EventId after = r.nextInt(10) == 0
              ? EventId.of(seen.get(seen.size() - 1).epoch(), // not published yet
                  seen.get(seen.size() - 1).seq() + 1 + r.nextInt(3))
              : seen.get(r.nextInt(seen.size()));
          Subscription sub = randomSubscription(r);
          int storeCalls = store.sinceCalls.get();
          Recovery got = hub.history().since(after, sub);
          boolean answeredHere = store.sinceCalls.get() == storeCalls;
          Recovery want = stream.since(after, sub);
          String what = "seed " + seed + " step " + step + " after " + after + " " + sub;
          assertThat(got.recovered()).as(what).isEqualTo(want.recovered());
          if (want.recovered()) {
            assertThat(ids(got.events())).as(what).isEqualTo(ids(want.events()));
          }
          if (answeredHere) {
            fromMemory++;
          }
        }
      }
      hub.close();
      assertThat(fromMemory).as("seed %d: some resumes were answered from memory", seed)
          .isPositive();
    }
  }

  @Test
  void aReconnectStormWithinTheWindowCostsTheStoreNothing() {
    InMemoryStream stream = InMemoryStream.create(100_000);
    CountingStore store = new CountingStore(stream);
    Hub hub = Hub.builder().bus(stream).history(store).recentEvents(1000).build();
    List<EventId> ids = new ArrayList<>();
    for (int i = 0; i < 600; i++) {
      ids.add(stream.publish(TOPICS[i % TOPICS.length], Map.of(), "{}"));
    }
    for (int client = 0; client < 2000; client++) {
      InMemoryTransport t = new InMemoryTransport();
      Connection c = hub.connect(t, Scope.all());
      EventId last = ids.get(100 + client % 500);
      assertThat(c.subscribe(Subscription.builder().topics(TOPICS[client % 4]).build(), last))
          .isTrue();
    }
    assertThat(store.sinceCalls.get()).isZero();
    EventId old = ids.get(0); // 599 events ago, with a window of 1000: still in memory
    assertThat(hub.history().since(old, Subscription.all()).events()).hasSize(599);
    assertThat(store.sinceCalls.get()).isZero();
    hub.close();
  }

  @Test
  void aDiscontinuityEmptiesTheWindow() {
    InMemoryStream stream = InMemoryStream.create(1000);
    CountingStore store = new CountingStore(stream);
    Hub hub = Hub.builder().bus(stream).history(store).build();
    EventId first = stream.publish("a", Map.of(), "{}");
    stream.publish("a", Map.of(), "{}");
    stream.reset();
    Recovery r = hub.history().since(first, Subscription.all());
    assertThat(r.recovered()).isFalse();
    assertThat(store.sinceCalls.get()).isEqualTo(1);
    hub.close();
  }

  private static List<String> ids(List<Event> events) {
    return events.stream().map(e -> e.id().toString()).toList();
  }
}
