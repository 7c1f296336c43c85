package dev.fanout.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fanout.redis.ClusterTopology.Node;
import dev.fanout.redis.ClusterTopology.Shard;
import dev.fanout.redis.ClusterTopology.SlotRange;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** Where a node subscribes, and what it changes when the map or the need does: no Redis. */
class ShardPlanTest {
  private static final RedisStream PAYMENTS = RedisStream.named("payments").withPartitions(16);
  private static final Node A = ClusterTopologyTest.node("a", 7000);
  private static final Node B = ClusterTopologyTest.node("b", 7001);
  private static final Node C = ClusterTopologyTest.node("c", 7002);
  private static final Node A1 = ClusterTopologyTest.node("a1", 7003); // A's replica

  /** redis-cli --cluster create's three primaries: A 0-5460, B 5461-10922, C 10923-16383. */
  private static ClusterTopology threePrimaries(Node first) {
    List<SlotRange> ranges = RedisPartitionTest.redisCliLayout(3);
    return new ClusterTopology(List.of(new Shard(List.of(ranges.get(0)), first, List.of()),
        new Shard(List.of(ranges.get(1)), B, List.of()),
        new Shard(List.of(ranges.get(2)), C, List.of())));
  }

  private static Set<Integer> all() {
    return IntStream.range(0, 16).boxed().collect(Collectors.toSet());
  }

  private static SortedSet<Integer> set(Integer... partitions) {
    return new TreeSet<>(List.of(partitions));
  }

  @Test
  void aPartitionsChannelLivesOnThePrimaryServingItsSlot() {
    ClusterTopology map = threePrimaries(A);
    ShardPlan plan = ShardPlan.place(PAYMENTS, all(), map::primaryOf, null);
    // docs/redis.md's table: 0-4 on A, 5-10 on B, 11-15 on C
    assertThat(plan.byPrimary()).containsEntry(A, set(0, 1, 2, 3, 4))
        .containsEntry(B, set(5, 6, 7, 8, 9, 10)).containsEntry(C, set(11, 12, 13, 14, 15));
    for (int p = 0; p < 16; p++) {
      assertThat(plan.primaryOf(p)).isEqualTo(map.primaryOf(PAYMENTS.partition(p).slot()));
    }
  }

  @Test
  void aNodeSubscribesOnlyWhatItNeedsWithOneConnectionPerPrimaryThatCarriesAny() {
    Set<Integer> needed = new HashSet<>();
    for (String topic : List.of("mch_1", "mch_2", "mch_3")) {
      needed.add(PAYMENTS.partitionOf(topic));
    }
    ShardPlan plan = ShardPlan.place(PAYMENTS, needed, threePrimaries(A)::primaryOf, null);
    assertThat(plan.partitions()).isEqualTo(new TreeSet<>(needed));
    assertThat(plan.byPrimary().values().stream().mapToInt(Set::size).sum())
        .isEqualTo(needed.size());
    assertThat(ShardPlan.place(PAYMENTS, Set.of(), threePrimaries(A)::primaryOf, null)
        .byPrimary()).isEmpty();
  }

  @Test
  void aChangeOfNeedAddsAndDropsOnlyWhatChanged() {
    ClusterTopology map = threePrimaries(A);
    ShardPlan before = ShardPlan.place(PAYMENTS, Set.of(0, 5, 6), map::primaryOf, null);
    ShardPlan after = ShardPlan.place(PAYMENTS, Set.of(0, 6, 12), map::primaryOf, before);
    assertThat(ShardPlan.changes(before, after)).containsExactlyInAnyOrder(
        new ShardPlan.Change(B, set(5), set(), false, false),
        new ShardPlan.Change(C, set(), set(12), true, false));
    assertThat(ShardPlan.changes(after, ShardPlan.empty())).extracting(ShardPlan.Change::close)
        .containsOnly(true);
  }

  @Test
  void aMovedSlotMovesOnlyItsPartitionToItsNewPrimary() {
    ClusterTopology map = threePrimaries(A);
    ShardPlan before = ShardPlan.place(PAYMENTS, all(), map::primaryOf, null);
    int slot = PAYMENTS.partition(12).slot(); // moved from C to A, as RedisCluster.moveSlot does
    ShardPlan after = ShardPlan.place(PAYMENTS, all(),
        s -> s == slot ? A : map.primaryOf(s), before);
    assertThat(ShardPlan.changes(before, after)).containsExactlyInAnyOrder(
        new ShardPlan.Change(C, set(12), set(), false, false),
        new ShardPlan.Change(A, set(), set(12), false, false));
  }

  @Test
  void aFailoverMovesEveryPartitionOfTheFailedPrimaryAndNoOther() {
    ShardPlan before = ShardPlan.place(PAYMENTS, all(), threePrimaries(A)::primaryOf, null);
    ShardPlan after = ShardPlan.place(PAYMENTS, all(), threePrimaries(A1)::primaryOf, before);
    assertThat(ShardPlan.changes(before, after)).containsExactlyInAnyOrder(
        new ShardPlan.Change(A, set(0, 1, 2, 3, 4), set(), false, true),
        new ShardPlan.Change(A1, set(), set(0, 1, 2, 3, 4), true, false));
  }

  @Test
  void aPartitionWhoseSlotNoPrimaryServesStaysWhereItWas() {
    ClusterTopology map = threePrimaries(A);
    ShardPlan before = ShardPlan.place(PAYMENTS, all(), map::primaryOf, null);
    ShardPlan down = ShardPlan.place(PAYMENTS, all(), s -> s < 5461 ? null : map.primaryOf(s),
        before);
    assertThat(ShardPlan.changes(before, down)).isEmpty();
    assertThat(ShardPlan.place(PAYMENTS, all(), s -> null, null).partitions()).isEmpty();
  }

  @Test
  void oneSsubscribePerSlotWithTheProbeRidingWithItsPartition() {
    List<List<String>> commands = ShardPlan.ssubscribes(PAYMENTS, set(4, 2, 3), 3,
        "{payments:3:22716}:probe:n1");
    assertThat(commands).containsExactly(List.of("{payments:2:138}:events"),
        List.of("{payments:3:22716}:events", "{payments:3:22716}:probe:n1"),
        List.of("{payments:4:9843}:events"));
    for (List<String> command : commands) { // a cluster refuses two slots in one command
      assertThat(command.stream().map(KeySlot::of).distinct()).hasSize(1);
    }
    assertThat(ShardPlan.ssubscribes(PAYMENTS, set(4), 3, "x")).containsExactly(
        List.of("{payments:4:9843}:events"));
    // every partition has a slot of its own, at any P: a resubscribe is one command each
    for (int p : new int[] {1, 16, 48, 1024}) {
      RedisStream s = RedisStream.named("payments").withPartitions(p).tagged();
      Set<Integer> everything = IntStream.range(0, p).boxed().collect(Collectors.toSet());
      assertThat(ShardPlan.ssubscribes(s, everything, -1, null)).hasSize(p);
    }
  }

  @Test
  void theProbeStaysWithItsPartitionWhileTheConnectionCarriesIt() {
    assertThat(ShardPlan.probeAnchor(set(2, 3, 4), 3)).isEqualTo(3);
    assertThat(ShardPlan.probeAnchor(set(2, 4), 3)).isEqualTo(2);
    assertThat(ShardPlan.probeAnchor(set(), 3)).isEqualTo(-1);
  }
}
