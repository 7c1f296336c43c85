package dev.fanout.protocol;

import dev.fanout.core.internal.Scheduler;
import java.util.Collection;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Pings every session each interval and closes those whose pong is later than the timeout, on
 * the node's {@link Scheduler}: real time on the node's timer thread, or a fake clock in tests.
 * A tick only reads clocks and hands pings to the ping threads; it never waits on a connection.
 * A second loop, at the Server-Sent Events heartbeat interval, hands the ping threads one pass
 * that writes a comment on every idle SSE stream ({@link ProtocolSocket#keepAlive}).
 */
final class Heartbeat {
  private static final Logger log = LoggerFactory.getLogger(Heartbeat.class);

  private final Scheduler scheduler;
  private final Executor pings;
  private final long intervalNanos;
  private final long timeoutNanos;
  private final long keepAliveNanos;
  private final Collection<ProtocolSession> sessions;
  private volatile Scheduler.Cancellable next;
  private volatile Scheduler.Cancellable nextKeepAlive;
  private volatile boolean stopped;

  Heartbeat(Scheduler scheduler, Executor pings, NodeSettings settings,
      Collection<ProtocolSession> sessions) {
    this.scheduler = scheduler;
    this.pings = pings;
    this.intervalNanos = settings.heartbeatInterval().toNanos();
    this.timeoutNanos = settings.heartbeatTimeout().toNanos();
    this.keepAliveNanos = settings.sseHeartbeatInterval().toNanos();
    this.sessions = sessions;
  }

  void start() {
    next = schedule(this::tick, intervalNanos);
    nextKeepAlive = schedule(this::keepAlive, keepAliveNanos);
  }

  void stop() {
    stopped = true;
    for (Scheduler.Cancellable c : new Scheduler.Cancellable[] {next, nextKeepAlive}) {
      if (c != null) {
        c.cancel();
      }
    }
  }

  private Scheduler.Cancellable schedule(Runnable task, long delayNanos) {
    if (stopped) {
      return null;
    }
    try {
      return scheduler.schedule(task, delayNanos);
    } catch (RejectedExecutionException shutDown) {
      stopped = true;
      return null;
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
    next = schedule(this::tick, intervalNanos);
  }

  /** Hands the ping threads a pass of keep-alive comments; then the next is scheduled. */
  void keepAlive() {
    try {
      pings.execute(() -> {
        for (ProtocolSession s : sessions) {
          try {
            s.keepAlive();
          } catch (RuntimeException ex) {
            log.debug("keep-alive failed for {}", s, ex);
          }
        }
      });
    } catch (RejectedExecutionException shutDown) {
      return;
    }
    nextKeepAlive = schedule(this::keepAlive, keepAliveNanos);
  }
}
