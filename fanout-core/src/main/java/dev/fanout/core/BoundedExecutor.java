package dev.fanout.core;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runs tasks on another executor, at most {@code limit} at a time; the others wait here, in
 * order. The hub runs its resyncs' history reads on its history threads this way, so a resync of
 * thousands of connections takes a few of them and cannot swamp the store, and the threads stay
 * the owner's (one pool to size and shut down).
 */
final class BoundedExecutor {
  private final Executor delegate;
  private final int limit;
  private final ConcurrentLinkedQueue<Task> waiting = new ConcurrentLinkedQueue<>();
  private final AtomicInteger running = new AtomicInteger();

  private record Task(Runnable run, Runnable rejected) {}

  BoundedExecutor(Executor delegate, int limit) {
    this.delegate = delegate;
    this.limit = limit;
  }

  /** Runs {@code task} when a slot is free; {@code rejected} instead if the delegate refuses. */
  void execute(Runnable task, Runnable rejected) {
    waiting.add(new Task(task, rejected));
    startWaiting();
  }

  private void startWaiting() {
    while (!waiting.isEmpty()) {
      int now = running.get();
      if (now >= limit) {
        return; // a running task starts the next when it ends
      }
      if (!running.compareAndSet(now, now + 1)) {
        continue;
      }
      Task next = waiting.poll();
      if (next == null) {
        running.decrementAndGet();
        continue;
      }
      try {
        delegate.execute(() -> {
          try {
            next.run.run();
          } finally {
            running.decrementAndGet();
            startWaiting();
          }
        });
      } catch (RejectedExecutionException shutDown) {
        running.decrementAndGet();
        next.rejected.run();
      }
    }
  }
}
