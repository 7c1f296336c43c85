package dev.fanout.redis;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.function.IntFunction;

/**
 * Where a node subscribes to the partitions it needs, and what changes when the cluster's map or
 * the need does. Pure: no sockets; the node's {@link ShardedReceiver} applies it.
 *
 * <ul>
 *   <li>A partition's channel lives in its keys' slot ({@link RedisPartition#slot()}), so it is
 *       subscribed on the primary serving that slot, on the one connection the node holds to that
 *       primary.
 *   <li>A node subscribes only to the partitions it needs; a partition whose slot no primary
 *       serves (the cluster is down there) stays where it was until one does.
 *   <li>A cluster refuses an {@code SSUBSCRIBE} whose channels hash to two slots ({@code
 *       CROSSSLOT}), and every partition has a slot of its own, so a connection sends one {@code
 *       SSUBSCRIBE} per partition: resubscribing after a reconnect costs at most one per
 *       partition. The node's probe channel rides with the partition whose slot it shares.
 * </ul>
 */
final class ShardPlan {
  private final Map<Integer, ClusterTopology.Node> primaryOf; // needed partition -> primary

  private ShardPlan(Map<Integer, ClusterTopology.Node> primaryOf) {
    this.primaryOf = primaryOf;
  }

  /**
   * The primary each of the {@code needed} partitions of {@code stream} is subscribed on, per
   * {@code primaryOfSlot} (a cluster's map: null for a slot no primary serves); such a partition
   * keeps {@code current}'s primary for it, if any.
   */
  static ShardPlan place(RedisStream stream, Set<Integer> needed,
      IntFunction<ClusterTopology.Node> primaryOfSlot, ShardPlan current) {
    Map<Integer, ClusterTopology.Node> out = new LinkedHashMap<>();
    for (int p : new TreeSet<>(needed)) {
      ClusterTopology.Node primary = primaryOfSlot.apply(stream.partition(p).slot());
      if (primary == null && current != null) {
        primary = current.primaryOf(p);
      }
      if (primary != null) {
        out.put(p, primary);
      }
    }
    return new ShardPlan(out);
  }

  /** Nothing subscribed anywhere. */
  static ShardPlan empty() {
    return new ShardPlan(Map.of());
  }

  /** The primary partition {@code p} is subscribed on; null when it is not needed or unplaced. */
  ClusterTopology.Node primaryOf(int p) {
    return primaryOf.get(p);
  }

  /** The partitions placed, in order. */
  SortedSet<Integer> partitions() {
    return Collections.unmodifiableSortedSet(new TreeSet<>(primaryOf.keySet()));
  }

  /** The partitions each primary carries: the connections the node holds, one per primary. */
  Map<ClusterTopology.Node, SortedSet<Integer>> byPrimary() {
    Map<ClusterTopology.Node, SortedSet<Integer>> out = new LinkedHashMap<>();
    primaryOf.forEach((p, node) -> out.computeIfAbsent(node, n -> new TreeSet<>()).add(p));
    return out;
  }

  /**
   * What going from {@code before} to {@code after} asks of one primary's connection: the
   * partitions to drop (no longer needed, or moved to another primary) and to add (newly needed,
   * or moved here). A primary with nothing left to carry closes its connection; one that had
   * none opens it.
   */
  record Change(ClusterTopology.Node primary, SortedSet<Integer> drop, SortedSet<Integer> add,
      boolean open, boolean close) {}

  /** The changes from {@code before} to {@code after}, per primary that has one. */
  static List<Change> changes(ShardPlan before, ShardPlan after) {
    Map<ClusterTopology.Node, SortedSet<Integer>> was = before.byPrimary();
    Map<ClusterTopology.Node, SortedSet<Integer>> will = after.byPrimary();
    Set<ClusterTopology.Node> primaries = new LinkedHashSet<>(was.keySet());
    primaries.addAll(will.keySet());
    List<Change> out = new ArrayList<>();
    for (ClusterTopology.Node node : primaries) {
      SortedSet<Integer> had = was.getOrDefault(node, Collections.emptySortedSet());
      SortedSet<Integer> has = will.getOrDefault(node, Collections.emptySortedSet());
      SortedSet<Integer> drop = new TreeSet<>(had);
      drop.removeAll(has);
      SortedSet<Integer> add = new TreeSet<>(has);
      add.removeAll(had);
      if (!drop.isEmpty() || !add.isEmpty()) {
        out.add(new Change(node, drop, add, had.isEmpty(), has.isEmpty()));
      }
    }
    return out;
  }

  /**
   * The {@code SSUBSCRIBE} commands (their channels) that subscribe {@code partitions} on one
   * connection: one per slot, since a cluster refuses channels of two slots in one command; the
   * probe channel goes with the partition {@code probeWith}, whose slot it shares, or not at all
   * when {@code probeWith} is not among them.
   */
  static List<List<String>> ssubscribes(RedisStream stream, Collection<Integer> partitions,
      int probeWith, String probeChannel) {
    Map<Integer, List<String>> bySlot = new LinkedHashMap<>();
    for (int p : new TreeSet<>(partitions)) {
      RedisPartition partition = stream.partition(p);
      List<String> channels = bySlot.computeIfAbsent(partition.slot(), s -> new ArrayList<>());
      channels.add(partition.channel());
      if (p == probeWith) {
        channels.add(Objects.requireNonNull(probeChannel, "probeChannel"));
      }
    }
    return new ArrayList<>(bySlot.values());
  }

  /**
   * The partition a connection's probe rides with: {@code current} while the connection still
   * carries it, else the lowest it carries; -1 when it carries none.
   */
  static int probeAnchor(SortedSet<Integer> carried, int current) {
    if (carried.contains(current)) {
      return current;
    }
    return carried.isEmpty() ? -1 : carried.first();
  }

  @Override
  public String toString() {
    return "ShardPlan" + byPrimary();
  }
}
