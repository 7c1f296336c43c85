package dev.fanout.core;

import dev.fanout.core.internal.Scheduler;
import java.util.concurrent.Executor;

/**
 * The validated outbox limits a hub gives each of its connections.
 *
 * @param sendExecutor null: sends start on the publishing thread
 * @param lingerNanos 0: no linger; only with a send executor (0 without one)
 * @param clock the hub's: when a send started, how long an event waited
 */
record OutboxSettings(int capacity, int lowWatermark, int highWatermark, int maxBatch,
    Executor sendExecutor, long lingerNanos, Scheduler clock) {

  OutboxSettings {
    lingerNanos = sendExecutor == null ? 0 : lingerNanos;
  }
}
