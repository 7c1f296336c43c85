package dev.fanout.core.internal;

import dev.fanout.core.BusListener;
import dev.fanout.core.Event;
import dev.fanout.core.EventId;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The listeners of a bus, and the one guarded fan-out to them: a listener that throws is logged
 * (at most once a second) and skipped, never allowed to stop the bus's thread or the others.
 * Thread-safe. Not public API.
 */
public final class BusListeners {
  private static final Logger log = LoggerFactory.getLogger(BusListeners.class);

  private final List<BusListener> listeners = new CopyOnWriteArrayList<>();
  private volatile long lastFailureLog;

  /** Adds {@code listener}; closing the handle removes it. */
  public AutoCloseable add(BusListener listener) {
    listeners.add(listener);
    return () -> listeners.remove(listener);
  }

  /** Removes every listener. */
  public void clear() {
    listeners.clear();
  }

  public void event(Event event) {
    each(l -> l.onEvent(event), "event " + event.id());
  }

  public void discontinuity(String reason) {
    each(l -> l.onDiscontinuity(reason), "a discontinuity");
  }

  public void discontinuity(int partition, String reason) {
    each(l -> l.onDiscontinuity(partition, reason), "a discontinuity of partition " + partition);
  }

  public void position(EventId position) {
    each(l -> l.onPosition(position), "the start position");
  }

  public void busState(boolean up) {
    each(l -> l.onBusState(up), "a link change");
  }

  private void each(Consumer<BusListener> call, String what) {
    for (BusListener l : listeners) {
      try {
        call.accept(l);
      } catch (RuntimeException e) {
        long now = System.nanoTime();
        if (now - lastFailureLog > 1_000_000_000L) {
          lastFailureLog = now;
          log.warn("bus listener {} threw on {}; ignored (logged at most once a second)", l,
              what, e);
        }
      }
    }
  }
}
