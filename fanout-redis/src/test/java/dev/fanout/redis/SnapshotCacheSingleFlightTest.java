package dev.fanout.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fanout.core.Event;
import dev.fanout.core.EventId;
import dev.fanout.core.Subscription;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;

/**
 * Many snapshots of the same topics at once read each topic once, however their threads
 * interleave: a snapshot that found a topic missing just before another's read of it landed
 * uses that read instead of reading again.
 */
class SnapshotCacheSingleFlightTest {
  private static final int TOPICS = 400;
  private static final int THREADS = 32;

  @Test
  void everyTopicIsReadOnceUnderConcurrentSnapshots() throws Exception {
    for (int round = 0; round < 5; round++) { // the race is a matter of scheduling: try often
      aRound();
    }
  }

  private void aRound() throws Exception {
    AtomicInteger reads = new AtomicInteger();
    SnapshotCache cache = new SnapshotCache(10, 1 << 24, 1000, 10, 100_000, (topic, count) -> {
      reads.incrementAndGet();
      LockSupport.parkNanos(TimeUnit.MICROSECONDS.toNanos(100)); // a Redis round trip
      int n = Integer.parseInt(topic.substring(1));
      return List.of(Event.of(EventId.of("e", n + 1L), topic, Map.of(), "{}"));
    });
    ExecutorService pool = Executors.newFixedThreadPool(THREADS);
    try {
      CountDownLatch go = new CountDownLatch(1);
      List<Future<?>> done = new ArrayList<>();
      for (int c = 0; c < THREADS; c++) {
        int client = c;
        done.add(pool.submit(() -> {
          go.await();
          for (int i = 0; i < TOPICS; i++) {
            String topic = "t" + (client * 7 + i) % TOPICS;
            List<Event> answer = cache.latest(5, Subscription.builder().topics(topic).build());
            assertThat(answer).extracting(Event::topic).containsExactly(topic);
          }
          return null;
        }));
      }
      go.countDown();
      for (Future<?> f : done) {
        f.get(60, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
    assertThat(reads.get()).isEqualTo(TOPICS);
    assertThat(cache.stats().hits()).isEqualTo((long) TOPICS * THREADS);
  }
}
