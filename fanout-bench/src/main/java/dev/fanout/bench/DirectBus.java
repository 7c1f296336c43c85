package dev.fanout.bench;

import dev.fanout.core.Bus;
import dev.fanout.core.BusListener;
import dev.fanout.core.Event;
import dev.fanout.core.EventId;
import java.util.Map;

/**
 * A bus that hands the benchmark's events straight to the hub's listener, as a real bus's thread
 * does after it has read them: what is measured is the hub's routing, not a bus.
 */
final class DirectBus implements Bus {
  private BusListener listener;

  /** Routes {@code event} on the calling thread, as the bus's thread would. */
  void deliver(Event event) {
    listener.onEvent(event);
  }

  @Override
  public EventId publish(String topic, Map<String, String> attributes, String data) {
    throw new UnsupportedOperationException("benchmarks deliver events with ids already set");
  }

  @Override
  public AutoCloseable subscribe(BusListener listener) {
    this.listener = listener;
    return () -> this.listener = null;
  }

  @Override
  public void close() {}
}
