package dev.fanout.protocol;

import dev.fanout.core.internal.Scheduler;
import java.time.Duration;
import java.util.Collection;
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Pings every session each interval and closes those whose pong is later than the timeout, on
 * the node's {@link Scheduler}: real time on the node's timer thread, or a fake clock in tests.
 * A tick only reads clocks and hands pings to the ping threads; it never waits on a connection.
 */
final class Heartbeat {
  private static final Logger log = LoggerFactory.getLogger(Heartbeat.class);

  private final Scheduler scheduler;
  private final long intervalNanos;
  private final long timeoutNanos;
  private final Collection<ProtocolSession> sessions;
  private volatile Scheduler.Cancellable next;
  private volatile boolean stopped;

  Heartbeat(Scheduler scheduler, Duration interval, Duration timeout,
      Collection<ProtocolSession> sessions) {
    this.scheduler = scheduler;
    this.intervalNanos = interval.toNanos();
    this.timeoutNanos = timeout.toNanos();
    this.sessions = sessions;
  }

  void start() {
    schedule();
  }

  void stop() {
    stopped = true;
    Scheduler.Cancellable n = next;
    if (n != null) {
      n.cancel();
    }
  }

  private void schedule() {
    if (stopped) {
      return;
    }
    try {
      next = scheduler.schedule(this::tick, intervalNanos);
    } catch (RejectedExecutionException shutDown) {
      stopped = true;
    }
  }

  /** One pass over the sessions; then the next is scheduled. */
  void tick() {
    long now = scheduler.nanoTime();
    for (ProtocolSession s : sessions) {
      try {
        s.heartbeat(now, timeoutNanos);
      } catch (RuntimeException ex) {
        log.debug("heartbeat failed for {}", s, ex);
      }
    }
    schedule();
  }
}
