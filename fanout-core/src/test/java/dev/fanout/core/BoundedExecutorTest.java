package dev.fanout.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** A resync's reads take at most a few of the history threads, and every one of them runs. */
class BoundedExecutorTest {
  private final ExecutorService threads = Executors.newFixedThreadPool(8);

  @AfterEach
  void stop() {
    threads.shutdownNow();
  }

  @Test
  void runsEveryTaskWithAtMostTheLimitAtOnce() throws Exception {
    BoundedExecutor bounded = new BoundedExecutor(threads, 2);
    CountDownLatch release = new CountDownLatch(1);
    AtomicInteger running = new AtomicInteger();
    AtomicInteger most = new AtomicInteger();
    List<Integer> started = new ArrayList<>();
    CountDownLatch done = new CountDownLatch(50);
    for (int i = 0; i < 50; i++) {
      int n = i;
      bounded.execute(() -> {
        most.accumulateAndGet(running.incrementAndGet(), Math::max);
        synchronized (started) {
          started.add(n);
        }
        try {
          release.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        running.decrementAndGet();
        done.countDown();
      }, () -> { });
    }
    await().until(() -> running.get() == 2);
    release.countDown();
    assertThat(done.await(10, TimeUnit.SECONDS)).isTrue();
    assertThat(most.get()).isEqualTo(2);
    synchronized (started) {
      assertThat(started).hasSize(50).doesNotHaveDuplicates();
    }
  }

  @Test
  void aTaskTheThreadsRefuseIsToldSo() {
    threads.shutdown();
    AtomicInteger ran = new AtomicInteger();
    AtomicInteger refused = new AtomicInteger();
    BoundedExecutor bounded = new BoundedExecutor(threads, 2);
    for (int i = 0; i < 5; i++) {
      bounded.execute(ran::incrementAndGet, refused::incrementAndGet);
    }
    assertThat(ran.get()).isZero();
    assertThat(refused.get()).isEqualTo(5);
  }
}
