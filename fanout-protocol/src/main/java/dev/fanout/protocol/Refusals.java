package dev.fanout.protocol;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Refused handshakes, counted by status and reason and logged as one summary line at most every
 * {@value #LOG_EVERY_SECONDS} seconds: a flood of bad handshakes (bad tokens, hostile origins)
 * must cost a counter increment each, not a log line (or a stack trace) each.
 */
final class Refusals {
  private static final Logger log = LoggerFactory.getLogger(FanoutNode.class);
  static final long LOG_EVERY_SECONDS = 10;

  private final Map<String, LongAdder> total = new ConcurrentHashMap<>();
  private final Map<String, LongAdder> sinceLog = new ConcurrentHashMap<>();
  private final AtomicLong lastLog = new AtomicLong(System.nanoTime()
      - TimeUnit.SECONDS.toNanos(LOG_EVERY_SECONDS + 1));

  void count(int status, String reason) {
    String key = status + " " + reason;
    total.computeIfAbsent(key, k -> new LongAdder()).increment();
    sinceLog.computeIfAbsent(key, k -> new LongAdder()).increment();
    long now = System.nanoTime();
    long last = lastLog.get();
    if (now - last > TimeUnit.SECONDS.toNanos(LOG_EVERY_SECONDS)
        && lastLog.compareAndSet(last, now)) {
      Map<String, Long> counts = new TreeMap<>();
      sinceLog.forEach((k, n) -> {
        long c = n.sumThenReset();
        if (c > 0) {
          counts.put(k, c);
        }
      });
      log.info("refused handshakes since the last report: {}", counts);
    }
  }

  /** Every refusal so far, by "status reason". */
  Map<String, Long> totals() {
    Map<String, Long> copy = new TreeMap<>();
    total.forEach((k, n) -> copy.put(k, n.sum()));
    return copy;
  }
}
