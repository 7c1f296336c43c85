package dev.fanout.protocol;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;

/**
 * What subscribes may replay from history: per key (a principal, or an address for anonymous
 * clients) a token bucket of events, refilled at {@code perSecond} up to {@code burst}, and for
 * the node a cap on replays in progress at once. A 60-byte subscribe can replay thousands of
 * events; without a budget a few connections resuming from far back again and again take the
 * node's core and its honest clients' latency.
 *
 * <p>A replay is admitted while its key's bucket is not empty and a slot is free; its cost, the
 * events it sent, is charged when it ends (it is only known then), so a bucket may go below zero
 * and then admits nothing until it has refilled.
 */
final class ReplayBudget {
  private static final int FORGET_FULL_BUCKETS_ABOVE = 10_000;

  private final double perSecond;
  private final double burst;
  private final Semaphore inProgress;
  private final Map<String, Bucket> buckets = new ConcurrentHashMap<>();

  ReplayBudget(double perSecond, int burst, int maxConcurrent) {
    this.perSecond = perSecond;
    this.burst = burst;
    this.inProgress = new Semaphore(maxConcurrent);
  }

  /** Why a replay for {@code key} cannot start now, or null when it may (then call end). */
  String tryBegin(String key, long nowNanos) {
    Bucket b = buckets.computeIfAbsent(key, k -> new Bucket(burst, nowNanos));
    if (b.available(nowNanos) <= 0) {
      return "replay budget exhausted, retry later";
    }
    if (!inProgress.tryAcquire()) {
      return "too many replays in progress, retry later";
    }
    return null;
  }

  /** Ends a replay that {@link #tryBegin} let start, charging the {@code events} it sent. */
  void end(String key, long events, long nowNanos) {
    inProgress.release();
    Bucket b = buckets.get(key);
    if (b != null) {
      b.charge(events, nowNanos);
    }
    if (buckets.size() > FORGET_FULL_BUCKETS_ABOVE) { // keys come and go (addresses): bounded
      buckets.values().removeIf(x -> x.available(nowNanos) >= burst);
    }
  }

  private final class Bucket {
    private double tokens;
    private long last;

    Bucket(double tokens, long now) {
      this.tokens = tokens;
      this.last = now;
    }

    synchronized double available(long now) {
      tokens = Math.min(burst, tokens + (now - last) / 1e9 * perSecond);
      last = now;
      return tokens;
    }

    synchronized void charge(long events, long now) {
      available(now);
      tokens -= events;
    }
  }
}
