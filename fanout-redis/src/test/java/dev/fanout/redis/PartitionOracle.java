package dev.fanout.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fanout.core.BusListener;
import dev.fanout.core.Event;
import dev.fanout.core.EventId;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Records what a bus of several partitions delivers, per partition, and judges each partition by
 * ids as {@link Oracle} judges a stream: in order, no duplicates, no gap or epoch change unless a
 * discontinuity of that partition was reported just before it, and the first after a position
 * the bus told ({@code onPosition}: where it started the partition) is the next one. A
 * discontinuity of the whole bus (not of one partition) is recorded apart: a bus of partitions
 * must not send one.
 */
final class PartitionOracle implements BusListener {
  private final Map<Integer, List<Object>> logs = new TreeMap<>(); // EventId or String
  private final Map<Integer, EventId> positions = new HashMap<>();
  private final Map<EventId, String> payloads = new HashMap<>();
  private final List<String> wholeBus = new ArrayList<>();
  private final List<String> duplicates = new ArrayList<>();

  @Override
  public synchronized void onEvent(Event event) {
    logs.computeIfAbsent(event.id().partition(), p -> new ArrayList<>()).add(event.id());
    String before = payloads.putIfAbsent(event.id(), event.data());
    if (before != null) {
      duplicates.add(event.id() + (before.equals(event.data()) ? " again" : " naming another "
          + "event"));
    }
  }

  @Override
  public synchronized void onDiscontinuity(String reason) {
    wholeBus.add(reason);
  }

  @Override
  public synchronized void onDiscontinuity(int partition, String reason) {
    logs.computeIfAbsent(partition, p -> new ArrayList<>()).add(reason);
  }

  /** Where the bus (re)started a partition: its next event is the one after. */
  private record Start(EventId at) {}

  @Override
  public synchronized void onPosition(EventId position) {
    positions.put(position.partition(), position);
    logs.computeIfAbsent(position.partition(), p -> new ArrayList<>()).add(new Start(position));
  }

  synchronized List<EventId> ids(int partition) {
    List<EventId> out = new ArrayList<>();
    for (Object o : logs.getOrDefault(partition, List.of())) {
      if (o instanceof EventId id) {
        out.add(id);
      }
    }
    return out;
  }

  synchronized List<EventId> ids() {
    List<EventId> out = new ArrayList<>();
    for (int p : logs.keySet()) {
      out.addAll(ids(p));
    }
    return out;
  }

  synchronized int count() {
    return payloads.size();
  }

  synchronized boolean delivered(EventId id) {
    return payloads.containsKey(id);
  }

  /** The payload delivered under {@code id}, or null. */
  synchronized String payload(EventId id) {
    return payloads.get(id);
  }

  synchronized Map<Integer, List<String>> discontinuities() {
    Map<Integer, List<String>> out = new TreeMap<>();
    logs.forEach((p, log) -> {
      for (Object o : log) {
        if (o instanceof String reason) {
          out.computeIfAbsent(p, x -> new ArrayList<>()).add(reason);
        }
      }
    });
    return out;
  }

  /** Whether a discontinuity of {@code id}'s partition was reported after it was delivered. */
  synchronized boolean reportedAfter(EventId id) {
    List<Object> log = logs.getOrDefault(id.partition(), List.of());
    int at = log.indexOf(id);
    for (int i = at + 1; at >= 0 && i < log.size(); i++) {
      if (log.get(i) instanceof String) {
        return true;
      }
    }
    return false;
  }

  synchronized EventId position(int partition) {
    return positions.get(partition);
  }

  /** Every partition in order without duplicates or unannounced jumps; nothing for the bus. */
  synchronized void assertNoSilentGap() {
    assertThat(wholeBus).as("discontinuities of the whole bus").isEmpty();
    assertThat(duplicates).as("ids delivered twice").isEmpty();
    logs.forEach((partition, log) -> {
      EventId previous = null;
      boolean announced = false;
      for (Object o : log) {
        if (o instanceof String) {
          announced = true;
          continue;
        }
        if (o instanceof Start start) { // needed (again): it starts after its stream's top
          previous = start.at();
          announced = false;
          continue;
        }
        EventId id = (EventId) o;
        assertThat(id.partition()).isEqualTo(partition);
        if (previous != null && id.seq() != previous.seq() + 1) {
          assertThat(announced).as("partition %d: jump from %s to %s without a discontinuity",
              partition, previous, id).isTrue();
          assertThat(id.sameEpoch(previous) && id.seq() <= previous.seq())
              .as("%s after %s: out of order or duplicate", id, previous).isFalse();
        }
        previous = id;
        announced = false;
      }
    });
  }
}
