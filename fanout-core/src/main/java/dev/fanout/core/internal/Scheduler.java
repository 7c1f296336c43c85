package dev.fanout.core.internal;

import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Time as fanout's timers see it: a monotonic clock and delayed tasks. The node runs it on one
 * timer thread ({@link #on}); tests drive a fake one (core's test jar: {@code FakeScheduler}),
 * so a heartbeat timeout or a batch linger is tested without waiting for it (OkHttp's {@code
 * TaskFaker}). Not public API.
 */
public interface Scheduler {

  /** Monotonic nanoseconds, as {@link System#nanoTime()}. */
  long nanoTime();

  /**
   * Runs {@code task} once, {@code delayNanos} from now, on the scheduler's thread (it must be
   * quick: hand longer work to an executor).
   *
   * @return cancels the task if it has not run
   * @throws RejectedExecutionException once the scheduler is shut down
   */
  Cancellable schedule(Runnable task, long delayNanos);

  /** A scheduled task that can still be called off. */
  @FunctionalInterface
  interface Cancellable {
    void cancel();
  }

  /** Real time on {@code executor}'s thread (its owner shuts it down). */
  static Scheduler on(ScheduledExecutorService executor) {
    return new Scheduler() {
      @Override
      public long nanoTime() {
        return System.nanoTime();
      }

      @Override
      public Cancellable schedule(Runnable task, long delayNanos) {
        ScheduledFuture<?> f = executor.schedule(task, delayNanos, TimeUnit.NANOSECONDS);
        return () -> f.cancel(false);
      }
    };
  }
}
