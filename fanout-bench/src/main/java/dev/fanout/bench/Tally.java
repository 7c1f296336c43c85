package dev.fanout.bench;

import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.Recorder;

/** What the clients saw, counted for the measurement window only. */
final class Tally {
  final Recorder latency = new Recorder(3);
  final LongAdder received = new LongAdder();
  final LongAdder duplicates = new LongAdder();
  final LongAdder orderViolations = new LongAdder();
  final Map<Integer, AtomicInteger> closes = new ConcurrentHashMap<>();
  volatile long windowStartMicros = Long.MAX_VALUE;
  volatile long windowEndMicros = Long.MAX_VALUE;

  static long nowMicros() {
    Instant now = Instant.now();
    return now.getEpochSecond() * 1_000_000 + now.getNano() / 1000;
  }

  void received(long seq, long lastSeq, long publishedMicros, long nowMicros) {
    if (publishedMicros < windowStartMicros || publishedMicros >= windowEndMicros) {
      return;
    }
    if (seq == lastSeq) {
      duplicates.increment();
      return;
    }
    if (seq < lastSeq) {
      orderViolations.increment();
      return;
    }
    received.increment();
    latency.recordValue(Math.max(0, nowMicros - publishedMicros));
  }

  void closed(int code) {
    closes.computeIfAbsent(code, k -> new AtomicInteger()).incrementAndGet();
  }
}
