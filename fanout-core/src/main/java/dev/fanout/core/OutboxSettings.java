package dev.fanout.core;

/** The validated outbox limits a hub gives each of its connections. */
final class OutboxSettings {
  final int capacity;
  final int lowWatermark;
  final int highWatermark;
  final int maxBatch;

  OutboxSettings(int capacity, int lowWatermark, int highWatermark, int maxBatch) {
    this.capacity = capacity;
    this.lowWatermark = lowWatermark;
    this.highWatermark = highWatermark;
    this.maxBatch = maxBatch;
  }
}
