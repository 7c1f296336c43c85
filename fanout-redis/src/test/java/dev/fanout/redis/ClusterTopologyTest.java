package dev.fanout.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fanout.redis.ClusterTopology.Node;
import dev.fanout.redis.ClusterTopology.Shard;
import dev.fanout.redis.ClusterTopology.SlotRange;
import java.util.List;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.HostAndPort;

class ClusterTopologyTest {
  private static final Node A = node("a", 7000);
  private static final Node B = node("b", 7001);
  private static final Node C = node("c", 7002);
  private static final Node A1 = node("a1", 7003);

  static Node node(String id, int port) {
    return new Node(id, new HostAndPort("127.0.0.1", port));
  }

  @Test
  void mapsEverySlotToItsPrimaryAndEveryPrimaryToItsSlots() {
    ClusterTopology t = new ClusterTopology(List.of(
        new Shard(List.of(new SlotRange(0, 5460), new SlotRange(16000, 16383)), A, List.of(A1)),
        new Shard(List.of(new SlotRange(5461, 10922)), B, List.of()),
        new Shard(List.of(new SlotRange(10923, 15999)), C, List.of())));
    assertThat(t.primaryOf(0)).isEqualTo(A);
    assertThat(t.primaryOf(5460)).isEqualTo(A);
    assertThat(t.primaryOf(5461)).isEqualTo(B);
    assertThat(t.primaryOf(15999)).isEqualTo(C);
    assertThat(t.primaryOf(16383)).isEqualTo(A);
    assertThat(t.slotsOf(A)).containsExactly(new SlotRange(0, 5460), new SlotRange(16000, 16383));
    assertThat(t.slotCount(A)).isEqualTo(5461 + 384);
    assertThat(t.slotCount(A) + t.slotCount(B) + t.slotCount(C)).isEqualTo(16384);
    assertThat(t.replicasOf(A)).containsExactly(A1);
    assertThat(t.replicasOf(A1)).isEmpty();
    assertThat(t.primaries()).containsExactly(A, B, C);
    assertThat(t.primaryAt(new HostAndPort("127.0.0.1", 7001))).isEqualTo(B);
    assertThat(t.primaryAt(new HostAndPort("127.0.0.1", 7003))).isNull();
    assertThat(t.uncovered()).isEmpty();
  }

  @Test
  void slotsNoPrimaryServesAreNamed() {
    ClusterTopology t = new ClusterTopology(List.of(
        new Shard(List.of(new SlotRange(1, 100), new SlotRange(200, 16382)), A, List.of()),
        new Shard(List.of(), B, List.of())));
    assertThat(t.primaryOf(0)).isNull();
    assertThat(t.primaryOf(150)).isNull();
    assertThat(t.uncovered()).containsExactly(new SlotRange(0, 0), new SlotRange(101, 199),
        new SlotRange(16383, 16383));
    assertThat(t.slotsOf(B)).isEmpty();
    assertThat(t.primaries()).containsExactly(A, B);
  }

  @Test
  void aSlotClaimedTwiceIsRefused() {
    assertThatThrownBy(() -> new ClusterTopology(List.of(
        new Shard(List.of(new SlotRange(0, 10)), A, List.of()),
        new Shard(List.of(new SlotRange(10, 20)), B, List.of()))))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("slot 10");
    assertThatThrownBy(() -> new SlotRange(5, 16384)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new SlotRange(5, 4)).isInstanceOf(IllegalArgumentException.class);
  }
}
