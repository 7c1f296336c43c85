package dev.fanout.core;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.TreeMap;

/**
 * Where a client stands in each partition it follows: at most one {@link EventId} per partition.
 * A stream of one partition has cursors of one id, whose wire form is that id; a partitioned
 * stream's cursor is its ids joined by commas in partition order, as in {@code
 * 0.k7Qm2x:12,3.Pq81Zr:40}. A client sends it back as {@code lastEventId} to resume in every
 * partition at once; a resume is exact in all of them or recovered in none. Immutable.
 */
public final class Cursor {
  private final TreeMap<Integer, EventId> byPartition;

  private Cursor(TreeMap<Integer, EventId> byPartition) {
    this.byPartition = byPartition;
  }

  /** A cursor of one id. */
  public static Cursor of(EventId id) {
    return of(List.of(Objects.requireNonNull(id, "id")));
  }

  /**
   * A cursor of these ids.
   *
   * @throws MalformedEventIdException when two name the same partition, or a partitioned id sits
   *     beside one that names no partition
   */
  public static Cursor of(Collection<EventId> ids) {
    TreeMap<Integer, EventId> map = new TreeMap<>();
    boolean partitioned = false;
    boolean plain = false;
    for (EventId id : ids) {
      partitioned |= id.isPartitioned();
      plain |= !id.isPartitioned();
      if (map.put(id.partition(), id) != null) {
        throw new MalformedEventIdException("a position names partition " + id.partition()
            + " twice");
      }
    }
    if (partitioned && plain) {
      throw new MalformedEventIdException("a position mixes ids with and without a partition");
    }
    return new Cursor(map);
  }

  /**
   * Parses the wire form: one id, or ids joined by commas, at most one per partition and at most
   * {@value EventId#MAX_PARTITIONS}.
   *
   * @throws MalformedEventIdException with a message that says what is wrong
   */
  public static Cursor parse(String text) {
    if (text == null || text.isEmpty()) {
      throw new MalformedEventIdException("event id is missing");
    }
    List<EventId> ids = new ArrayList<>();
    int from = 0;
    while (true) {
      int comma = text.indexOf(',', from);
      if (ids.size() >= EventId.MAX_PARTITIONS) {
        throw new MalformedEventIdException("a position names at most "
            + EventId.MAX_PARTITIONS + " partitions");
      }
      ids.add(EventId.parse(comma < 0 ? text.substring(from) : text.substring(from, comma)));
      if (comma < 0) {
        return of(ids);
      }
      from = comma + 1;
    }
  }

  /** The id of {@code partition}, or null when this cursor has none there. */
  public EventId get(int partition) {
    return byPartition.get(partition);
  }

  /** Every id, in partition order. */
  public List<EventId> ids() {
    return Collections.unmodifiableList(new ArrayList<>(byPartition.values()));
  }

  public int size() {
    return byPartition.size();
  }

  /** The one id of a cursor of one partition. */
  public EventId single() {
    if (byPartition.size() != 1) {
      throw new IllegalStateException("a position of " + byPartition.size() + " partitions");
    }
    return byPartition.firstEntry().getValue();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Cursor c && c.byPartition.equals(byPartition);
  }

  @Override
  public int hashCode() {
    return byPartition.hashCode();
  }

  /** The wire form. */
  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder();
    for (EventId id : byPartition.values()) {
      sb.append(sb.length() == 0 ? "" : ",").append(id);
    }
    return sb.toString();
  }
}
