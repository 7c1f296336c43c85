package dev.fanout.core;

import java.util.concurrent.Executor;

/** The validated outbox limits a hub gives each of its connections. */
final class OutboxSettings {
  final int capacity;
  final int lowWatermark;
  final int highWatermark;
  final int maxBatch;
  final Executor sendExecutor; // null = send on the publishing thread
  final long lingerNanos; // 0 = no linger; only with a send executor

  OutboxSettings(int capacity, int lowWatermark, int highWatermark, int maxBatch,
      Executor sendExecutor, long lingerNanos) {
    this.capacity = capacity;
    this.lowWatermark = lowWatermark;
    this.highWatermark = highWatermark;
    this.maxBatch = maxBatch;
    this.sendExecutor = sendExecutor;
    this.lingerNanos = sendExecutor == null ? 0 : lingerNanos;
  }
}
