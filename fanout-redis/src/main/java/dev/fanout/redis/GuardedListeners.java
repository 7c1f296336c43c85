package dev.fanout.redis;

import dev.fanout.core.BusListener;
import dev.fanout.core.Event;
import dev.fanout.core.EventId;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The listeners of a {@link RedisBus}, and the one guarded fan-out to them: a listener that
 * throws is logged (at most once a second) and skipped, never allowed to stop the bus's thread
 * or the others. Calls never overlap: a bus that receives on several connections (one per
 * primary) delivers through here one call at a time, so a listener sees one sequence of calls
 * as it would from a single delivery thread. Core's {@code BusListeners} does the same, without
 * the per-partition discontinuity.
 */
final class GuardedListeners {
  private static final Logger log = LoggerFactory.getLogger(GuardedListeners.class);

  private final List<BusListener> listeners = new CopyOnWriteArrayList<>();
  private final Object delivering = new Object();
  private volatile long lastFailureLog;

  /** Adds {@code listener}; closing the handle removes it. */
  AutoCloseable add(BusListener listener) {
    listeners.add(listener);
    return () -> listeners.remove(listener);
  }

  void event(Event event) {
    each(l -> l.onEvent(event), event);
  }

  void discontinuity(String reason) {
    each(l -> l.onDiscontinuity(reason), "a discontinuity");
  }

  void discontinuity(int partition, String reason) {
    each(l -> l.onDiscontinuity(partition, reason), "a discontinuity of a partition");
  }

  void position(EventId position) {
    each(l -> l.onPosition(position), position);
  }

  void busState(boolean up) {
    each(l -> l.onBusState(up), "a link change");
  }

  /** Calls every listener; {@code what} (an event, a position, words) is for the log only. */
  private void each(Consumer<BusListener> call, Object what) {
    synchronized (delivering) {
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
}
