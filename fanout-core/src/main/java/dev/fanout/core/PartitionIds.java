package dev.fanout.core;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One id per partition, mutable: where a connection's view stands in each partition (the newest
 * id accepted, sent, or covered by an answer). Order holds within a partition only, so every
 * comparison is made with the id of the same partition. A stream of one partition holds one id,
 * and behaves exactly as that id did. Not thread-safe: its owner guards it.
 */
final class PartitionIds {
  private EventId[] ids = new EventId[1];

  PartitionIds() {}

  /** The ids of {@code cursor}; empty for null. */
  static PartitionIds of(Cursor cursor) {
    PartitionIds out = new PartitionIds();
    if (cursor != null) {
      for (EventId id : cursor.ids()) {
        out.put(id);
      }
    }
    return out;
  }

  EventId get(int partition) {
    return partition < ids.length ? ids[partition] : null;
  }

  /** Holds {@code id} for its partition, replacing what was held there. */
  void put(EventId id) {
    int p = id.partition();
    if (p >= ids.length) {
      ids = Arrays.copyOf(ids, Math.max(p + 1, ids.length * 2));
    }
    ids[p] = id;
  }

  /**
   * Whether {@code id} may follow what is held for its partition: nothing held, another epoch,
   * or a later sequence. False for a duplicate or an older event.
   */
  boolean admits(EventId id) {
    EventId last = get(id.partition());
    return last == null || !id.sameEpoch(last) || id.isAfter(last);
  }

  /** Holds {@code id} when it is {@link #admits admitted}; says whether it was. */
  boolean advance(EventId id) {
    if (admits(id)) {
      put(id);
      return true;
    }
    return false;
  }

  /**
   * Holds {@code id} when nothing is held for its partition or it is later in the same epoch (a
   * position, which covers everything up to it).
   */
  void raise(EventId id) {
    EventId last = get(id.partition());
    if (last == null || last.sameEpoch(id) && id.isAfter(last)) {
      put(id);
    }
  }

  /** Whether an id held names its partition (a partitioned stream). */
  boolean isPartitioned() {
    for (EventId id : ids) {
      if (id != null && id.isPartitioned()) {
        return true;
      }
    }
    return false;
  }

  boolean isEmpty() {
    for (EventId id : ids) {
      if (id != null) {
        return false;
      }
    }
    return true;
  }

  PartitionIds copy() {
    PartitionIds c = new PartitionIds();
    c.ids = ids.clone();
    return c;
  }

  /** The ids held, as a cursor; null when none. */
  Cursor cursor() {
    List<EventId> held = new ArrayList<>();
    for (EventId id : ids) {
      if (id != null) {
        held.add(id);
      }
    }
    return held.isEmpty() ? null : Cursor.of(held);
  }

  @Override
  public String toString() {
    Cursor c = cursor();
    return c == null ? "none" : c.toString();
  }
}
