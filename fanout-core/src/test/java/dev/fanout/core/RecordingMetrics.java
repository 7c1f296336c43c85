package dev.fanout.core;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/** Counts what the hub reports, by name. */
final class RecordingMetrics implements FanoutMetrics {
  final Map<String, AtomicLong> counts = new ConcurrentHashMap<>();

  long get(String name) {
    AtomicLong n = counts.get(name);
    return n == null ? 0 : n.get();
  }

  private void add(String name, long n) {
    counts.computeIfAbsent(name, k -> new AtomicLong()).addAndGet(n);
  }

  @Override
  public void connectionOpened() {
    add("opened", 1);
  }

  @Override
  public void connectionClosed() {
    add("closed", 1);
  }

  @Override
  public void eventRouted(Event event, int recipients) {
    add("routed", 1);
    add("recipients", recipients);
  }

  @Override
  public void frameSent(int events) {
    add("frames", 1);
  }

  @Override
  public void eventDelivered(long nanos) {
    add("delivered", 1);
  }

  @Override
  public void eventsDropped(String policy, int count) {
    add("dropped." + policy, count);
  }

  @Override
  public void outboxWatermark(boolean aboveHigh) {
    add(aboveHigh ? "high" : "low", 1);
  }

  @Override
  public void resumed(boolean recovered) {
    add(recovered ? "recovered" : "notRecovered", 1);
  }

  @Override
  public void filterFailed(Throwable failure) {
    add("filterFailed", 1);
  }

  @Override
  public void sendFailed(Throwable failure) {
    add("sendFailed", 1);
  }
}
