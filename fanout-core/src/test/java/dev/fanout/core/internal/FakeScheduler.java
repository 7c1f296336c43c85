package dev.fanout.core.internal;

import java.time.Duration;
import java.util.PriorityQueue;
import java.util.concurrent.RejectedExecutionException;

/**
 * A {@link Scheduler} whose time moves only when a test says so: {@link #advance} runs every task
 * that falls due, in time order, on the test's thread. Tasks scheduled while advancing run in
 * the same call when they fall due within it. Thread-safe; exported in core's test jar.
 */
public final class FakeScheduler implements Scheduler {
  private final PriorityQueue<Task> due = new PriorityQueue<>();
  private long now = 1_000_000_000L; // not 0: code treats 0 as "never"
  private long order;
  private boolean shutDown;

  @Override
  public synchronized long nanoTime() {
    return now;
  }

  @Override
  public synchronized Cancellable schedule(Runnable task, long delayNanos) {
    if (shutDown) {
      throw new RejectedExecutionException("shut down");
    }
    Task t = new Task(now + Math.max(0, delayNanos), order++, task);
    due.add(t);
    return () -> {
      synchronized (FakeScheduler.this) {
        due.remove(t);
      }
    };
  }

  /** Moves time forward by {@code d}, running what falls due on the way. */
  public void advance(Duration d) {
    long until;
    synchronized (this) {
      until = now + d.toNanos();
    }
    while (true) {
      Task next;
      synchronized (this) {
        next = due.peek();
        if (next == null || next.at > until) {
          now = until;
          return;
        }
        due.poll();
        now = Math.max(now, next.at);
      }
      next.task.run();
    }
  }

  /** Runs what is due now without moving time. */
  public void runDue() {
    advance(Duration.ZERO);
  }

  /** Tasks waiting to fall due. */
  public synchronized int pending() {
    return due.size();
  }

  /** Refuses later tasks, as a shut-down executor does. */
  public synchronized void shutdown() {
    shutDown = true;
    due.clear();
  }

  private record Task(long at, long order, Runnable task) implements Comparable<Task> {
    @Override
    public int compareTo(Task o) {
      return at != o.at ? Long.compare(at, o.at) : Long.compare(order, o.order);
    }
  }
}
