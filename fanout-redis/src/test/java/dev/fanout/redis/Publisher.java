package dev.fanout.redis;

import dev.fanout.core.EventId;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * A steady publish stream for fault tests: one event every {@code periodMicros} until stopped,
 * retrying while Redis is away; records every id Redis acknowledged.
 */
final class Publisher implements AutoCloseable {
  private final RedisPublisher publisher;
  private final long periodNanos;
  private final List<EventId> acknowledged = new ArrayList<>();
  private final Thread thread;
  private volatile boolean stop;
  private volatile int failures;

  Publisher(RedisPublisher publisher, long periodMicros) {
    this.publisher = publisher;
    this.periodNanos = TimeUnit.MICROSECONDS.toNanos(periodMicros);
    this.thread = new Thread(this::run, "test-publisher");
    this.thread.start();
  }

  private void run() {
    int i = 0;
    while (!stop) {
      try {
        EventId id = publisher.publish("mch_" + (i % 7), Map.of("method", "card"),
            "{\"i\":" + i + "}");
        synchronized (this) {
          acknowledged.add(id);
        }
        i++;
      } catch (FanoutRedisException e) {
        failures++;
      }
      LockSupport.parkNanos(periodNanos); // pacing of the load, not synchronization
    }
  }

  synchronized List<EventId> acknowledged() {
    return new ArrayList<>(acknowledged);
  }

  synchronized int count() {
    return acknowledged.size();
  }

  int failures() {
    return failures;
  }

  @Override
  public void close() throws InterruptedException {
    stop = true;
    thread.join(10_000);
  }
}
