package dev.fanout.redis;

import dev.fanout.core.LinkState;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;

/**
 * A Pub/Sub link's state and outage record, and the lines it logs about them: one down line per
 * outage, one "still down" line every 10 s while it lasts, one up line with the time it was down.
 * Shared by {@link RedisLink} (one Redis) and {@link ShardedLink} (one primary of a cluster). A
 * closed link stays closed. Thread-safe; {@link #retried} only on the link's own thread.
 */
final class LinkHealth {
  private static final long RETRY_LOG_NANOS = TimeUnit.SECONDS.toNanos(10);

  private final Logger log; // the link's own, so its lines keep their logger
  private final String where;
  private final Consumer<LinkState> onChange;
  private final AtomicLong downs = new AtomicLong();
  private final AtomicLong downNanos = new AtomicLong(); // completed outages
  private volatile LinkState state = LinkState.CONNECTING;
  private volatile long downSince;
  private volatile String downReason;
  private volatile long lastRetryLog; // the down line, or the last "still down" line
  private int failedAttempts; // the link's thread only

  LinkHealth(Logger log, String where, Consumer<LinkState> onChange) {
    this.log = log;
    this.where = where;
    this.onChange = onChange;
  }

  LinkState state() {
    return state;
  }

  String downReason() {
    return downReason;
  }

  /** Times the link went down since start. */
  long downs() {
    return downs.get();
  }

  /** Time the link was down since start, the current outage included. */
  Duration downtime() {
    long current = state == LinkState.UP || downSince == 0 ? 0 : System.nanoTime() - downSince;
    return Duration.ofNanos(downNanos.get() + current);
  }

  /** Nanos since the current outage began, for the link's own messages. */
  long downForNanos(long now) {
    return downSince == 0 ? 0 : now - downSince;
  }

  void up() {
    if (state != LinkState.UP) {
      long down = downForNanos(System.nanoTime());
      downNanos.addAndGet(down);
      log.info("Redis link up ({}){}", where,
          downSince == 0 ? "" : " after " + down / 1_000_000 + " ms down");
    }
    failedAttempts = 0;
    set(LinkState.UP);
  }

  void down(String why) {
    downReason = why;
    if (state == LinkState.UP || state == LinkState.CONNECTING) {
      downSince = System.nanoTime();
      lastRetryLog = downSince;
      downs.incrementAndGet();
      log.warn("Redis link to {} down: {}", where, why);
    }
    set(LinkState.DOWN);
  }

  /** An attempt to reconnect failed: one line every 10 s while the link stays down. */
  void retried() {
    failedAttempts++;
    long now = System.nanoTime();
    if (now - lastRetryLog > RETRY_LOG_NANOS) {
      lastRetryLog = now;
      log.warn("Redis link to {} still down after {} attempts ({} ms): {}", where,
          failedAttempts, (now - downSince) / 1_000_000, downReason);
    }
  }

  /**
   * After a failed attempt: counts and logs it ({@link #retried}), then sleeps {@code backoff}
   * with jitter (from the minimum again when the link was up) and returns the next backoff,
   * doubled up to the maximum. An interrupt ends the sleep; the caller checks whether it closed.
   */
  long pauseAfterFailure(long backoff, RedisLink.Liveness liveness) {
    if (state == LinkState.UP) {
      backoff = liveness.backoffMin().toMillis();
    }
    retried();
    try {
      Thread.sleep(ThreadLocalRandom.current().nextLong(backoff / 2, backoff + 1));
    } catch (InterruptedException e) {
      // woken to close, or to try again at once
    }
    return Math.min(liveness.backoffMax().toMillis(), backoff * 2);
  }

  void set(LinkState next) {
    if (state == LinkState.CLOSED && next != LinkState.CLOSED) {
      return;
    }
    LinkState previous = state;
    state = next;
    if (previous != next) {
      try {
        onChange.accept(next);
      } catch (RuntimeException e) {
        log.warn("link listener threw; ignored", e);
      }
    }
  }
}
