package dev.fanout.redis;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.resps.ClusterShardInfo;
import redis.clients.jedis.resps.ClusterShardNodeInfo;

/**
 * fanout's own map of a Redis Cluster, as {@code CLUSTER SHARDS} (Redis 7) describes it: which
 * primary serves each of the 16,384 slots, which slots each primary serves, and each primary's
 * replicas. Immutable and pure: {@link #read} builds one over a connection, and whoever holds it
 * builds a new one when the cluster says it changed (a MOVED reply, a failover, a reshard).
 */
final class ClusterTopology {

  /** A Redis server of the cluster: its node id and where to reach it. */
  record Node(String id, HostAndPort address) {
    Node {
      Objects.requireNonNull(id, "id");
      Objects.requireNonNull(address, "address");
    }

    @Override
    public String toString() {
      return address + " (" + (id.length() > 8 ? id.substring(0, 8) : id) + ")";
    }
  }

  /** Slots {@code first} to {@code last}, both included. */
  record SlotRange(int first, int last) {
    SlotRange {
      if (first < 0 || last >= KeySlot.SLOTS || first > last) {
        throw new IllegalArgumentException("slot range " + first + "-" + last
            + " is not within 0-" + (KeySlot.SLOTS - 1));
      }
    }

    int size() {
      return last - first + 1;
    }

    @Override
    public String toString() {
      return first == last ? Integer.toString(first) : first + "-" + last;
    }
  }

  /** One primary, the slots it serves and its replicas. */
  record Shard(List<SlotRange> slots, Node primary, List<Node> replicas) {
    Shard {
      slots = List.copyOf(slots);
      Objects.requireNonNull(primary, "primary");
      replicas = List.copyOf(replicas);
    }
  }

  private final List<Shard> shards;
  private final Node[] bySlot = new Node[KeySlot.SLOTS];
  private final Map<Node, Shard> byPrimary = new LinkedHashMap<>();

  /**
   * @throws IllegalArgumentException when two shards claim a slot
   */
  ClusterTopology(List<Shard> shards) {
    this.shards = List.copyOf(shards);
    for (Shard shard : this.shards) {
      byPrimary.put(shard.primary(), shard);
      for (SlotRange range : shard.slots()) {
        for (int slot = range.first(); slot <= range.last(); slot++) {
          if (bySlot[slot] != null) {
            throw new IllegalArgumentException("slot " + slot + " is claimed by " + bySlot[slot]
                + " and " + shard.primary());
          }
          bySlot[slot] = shard.primary();
        }
      }
    }
  }

  /**
   * Reads the topology with {@code CLUSTER SHARDS} on {@code jedis}: a node's address is its
   * announced endpoint (its IP when it announces none), with its TLS port when {@code tls}.
   * Shards without slots (a primary being added, or one whose slots all moved) are kept, and a
   * node that is not {@code online} is still listed where the cluster lists it.
   */
  static ClusterTopology read(Jedis jedis, boolean tls) {
    List<Shard> shards = new ArrayList<>();
    for (ClusterShardInfo info : jedis.clusterShards()) {
      List<SlotRange> slots = new ArrayList<>();
      for (List<Long> range : info.getSlots()) {
        slots.add(new SlotRange(range.get(0).intValue(), range.get(1).intValue()));
      }
      Node primary = null;
      List<Node> replicas = new ArrayList<>();
      for (ClusterShardNodeInfo n : info.getNodes()) {
        Node node = node(n, tls);
        if (node == null) {
          continue;
        }
        if ("master".equals(n.getRole()) && primary == null) {
          primary = node;
        } else {
          replicas.add(node);
        }
      }
      if (primary != null) {
        shards.add(new Shard(slots, primary, replicas));
      }
    }
    return new ClusterTopology(shards);
  }

  private static Node node(ClusterShardNodeInfo n, boolean tls) {
    String host = n.getEndpoint();
    if (host == null || host.isEmpty() || host.equals("?")) {
      host = n.getIp();
    }
    Long port = tls && n.getTlsPort() != null ? n.getTlsPort() : n.getPort();
    if (host == null || host.isEmpty() || port == null || port == 0) {
      return null;
    }
    return new Node(n.getId(), new HostAndPort(host, port.intValue()));
  }

  /** The primary serving {@code slot}, or null when no primary does (the cluster is not ok). */
  Node primaryOf(int slot) {
    return bySlot[slot];
  }

  /** Every primary, slots or none, in the order the cluster listed them. */
  List<Node> primaries() {
    return List.copyOf(byPrimary.keySet());
  }

  /** The slot ranges {@code primary} serves, as the cluster listed them; empty when none. */
  List<SlotRange> slotsOf(Node primary) {
    Shard shard = byPrimary.get(primary);
    return shard == null ? List.of() : shard.slots();
  }

  /** How many slots {@code primary} serves. */
  int slotCount(Node primary) {
    int n = 0;
    for (SlotRange r : slotsOf(primary)) {
      n += r.size();
    }
    return n;
  }

  /** The replicas of {@code primary}; empty when it has none or is not a primary. */
  List<Node> replicasOf(Node primary) {
    Shard shard = byPrimary.get(primary);
    return shard == null ? List.of() : shard.replicas();
  }

  /** The primary at {@code address}, or null when none is there. */
  Node primaryAt(HostAndPort address) {
    for (Node n : byPrimary.keySet()) {
      if (n.address().equals(address)) {
        return n;
      }
    }
    return null;
  }

  /** The slots no primary serves, as ranges; empty when every slot is served. */
  List<SlotRange> uncovered() {
    List<SlotRange> out = new ArrayList<>();
    int start = -1;
    for (int slot = 0; slot <= KeySlot.SLOTS; slot++) {
      boolean missing = slot < KeySlot.SLOTS && bySlot[slot] == null;
      if (missing && start < 0) {
        start = slot;
      } else if (!missing && start >= 0) {
        out.add(new SlotRange(start, slot - 1));
        start = -1;
      }
    }
    return Collections.unmodifiableList(out);
  }

  List<Shard> shards() {
    return shards;
  }

  @Override
  public String toString() {
    StringBuilder s = new StringBuilder("ClusterTopology{");
    for (Shard shard : shards) {
      s.append(shard.primary()).append(' ').append(shard.slots()).append(" replicas ")
          .append(shard.replicas()).append("; ");
    }
    return s.append('}').toString();
  }
}
