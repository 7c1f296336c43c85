package dev.fanout.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fanout.core.BusListener;
import dev.fanout.core.Event;
import dev.fanout.core.EventId;
import java.util.ArrayList;
import java.util.List;

/**
 * Records what a bus delivers and judges it by ids: in order, no duplicates, and no gap or epoch
 * change unless a discontinuity was reported just before it. An epoch bridged from the previous
 * one (fanout.lua) continues its numbering: 97 then a new epoch's 98 is no gap.
 */
final class Oracle implements BusListener {
  private final List<Object> log = new ArrayList<>(); // EventId or String (discontinuity reason)

  @Override
  public synchronized void onEvent(Event event) {
    log.add(event.id());
  }

  @Override
  public synchronized void onDiscontinuity(String reason) {
    log.add(reason);
  }

  synchronized List<EventId> ids() {
    List<EventId> ids = new ArrayList<>();
    for (Object o : log) {
      if (o instanceof EventId) {
        ids.add((EventId) o);
      }
    }
    return ids;
  }

  synchronized List<String> discontinuities() {
    List<String> reasons = new ArrayList<>();
    for (Object o : log) {
      if (o instanceof String) {
        reasons.add((String) o);
      }
    }
    return reasons;
  }

  synchronized boolean delivered(EventId id) {
    return log.contains(id);
  }

  /** Checks order, uniqueness and that every jump was announced. */
  synchronized void assertNoSilentGap() {
    EventId previous = null;
    boolean announced = false;
    for (Object o : log) {
      if (o instanceof String) {
        announced = true;
        continue;
      }
      EventId id = (EventId) o;
      if (previous != null) {
        // the next sequence number, in the same epoch or across a bridge to a new one
        boolean next = id.seq() == previous.seq() + 1;
        if (!next) {
          assertThat(announced).as("jump from %s to %s without a discontinuity", previous, id)
              .isTrue();
          assertThat(id.sameEpoch(previous) && id.seq() <= previous.seq())
              .as("%s after %s: out of order or duplicate", id, previous).isFalse();
        }
      }
      previous = id;
      announced = false;
    }
  }
}
