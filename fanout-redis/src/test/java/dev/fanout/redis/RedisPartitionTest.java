package dev.fanout.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fanout.redis.ClusterTopology.SlotRange;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** Partitions: the topic's partition, the balanced hash tags, and the names of each layout. */
class RedisPartitionTest {

  /** The slot ranges {@code redis-cli --cluster create} gives {@code masters} primaries. */
  static List<SlotRange> redisCliLayout(int masters) {
    List<SlotRange> ranges = new ArrayList<>();
    float slotsPerNode = KeySlot.SLOTS / (float) masters;
    int first = 0;
    float cursor = 0f;
    for (int i = 0; i < masters; i++) {
      int last = Math.round(cursor + slotsPerNode - 1);
      if (last > KeySlot.SLOTS || i == masters - 1) {
        last = KeySlot.SLOTS - 1;
      }
      last = Math.max(last, first);
      ranges.add(new SlotRange(first, last));
      first = last + 1;
      cursor += slotsPerNode;
    }
    return ranges;
  }

  private static int primaryOf(List<SlotRange> layout, int slot) {
    for (int i = 0; i < layout.size(); i++) {
      if (slot >= layout.get(i).first() && slot <= layout.get(i).last()) {
        return i;
      }
    }
    throw new AssertionError("slot " + slot + " not in the layout");
  }

  @Test
  void oneSingleLayoutPartitionKeepsTodaysNames() {
    RedisStream s = RedisStream.named("payments");
    assertThat(s.partitions()).isEqualTo(1);
    assertThat(s.isTagged()).isFalse();
    RedisPartition p = s.partition(0);
    assertThat(p.tag()).isEqualTo("payments");
    assertThat(p.streamKey()).isEqualTo("{payments}:stream").isEqualTo(s.streamKey());
    assertThat(p.metaKey()).isEqualTo("{payments}:meta").isEqualTo(s.metaKey());
    assertThat(p.topicKey("mch_1")).isEqualTo("{payments}:topic:mch_1");
    assertThat(p.topicsKey()).isEqualTo("{payments}:topics").isEqualTo(s.topicsKey());
    assertThat(p.channel()).isEqualTo("payments:events").isEqualTo(s.channel());
    assertThat(p.probeChannel("n1")).isEqualTo("payments:probe:n1");
    assertThat(p.sharded()).isFalse();
    assertThat(p.slot()).isEqualTo(KeySlot.of("{payments}:stream"));
    assertThat(s.partitionOf("anything")).isZero();
    assertThat(s.withRetention(5).partition(0).streamKey()).isEqualTo("{payments}:stream");
  }

  @Test
  void theTaggedLayoutPutsEveryNameOfAPartitionInOneSlot() {
    RedisStream s = RedisStream.named("payments").withPartitions(16);
    assertThat(s.isTagged()).isTrue();
    for (int i = 0; i < 16; i++) {
      RedisPartition p = s.partition(i);
      assertThat(p.tag()).startsWith("payments:" + i + ":");
      assertThat(p.streamKey()).isEqualTo("{" + p.tag() + "}:stream");
      assertThat(p.metaKey()).isEqualTo("{" + p.tag() + "}:meta");
      assertThat(p.topicKey("mch_1")).isEqualTo("{" + p.tag() + "}:topic:mch_1");
      assertThat(p.topicsKey()).isEqualTo("{" + p.tag() + "}:topics");
      assertThat(p.channel()).isEqualTo("{" + p.tag() + "}:events");
      assertThat(p.probeChannel("n1")).isEqualTo("{" + p.tag() + "}:probe:n1");
      assertThat(p.sharded()).isTrue();
      for (String name : List.of(p.streamKey(), p.metaKey(), p.topicKey("x{y}"), p.topicsKey(),
          p.channel(), p.probeChannel("n"))) {
        assertThat(KeySlot.of(name)).as(name).isEqualTo(p.slot());
      }
    }
    RedisStream one = RedisStream.named("payments").tagged();
    assertThat(one.partitions()).isEqualTo(1);
    assertThat(one.streamKey()).isEqualTo("{" + one.partition(0).tag() + "}:stream");
    assertThat(one.partition(0).tag()).startsWith("payments:0:");
    assertThat(one.channel()).isEqualTo("{" + one.partition(0).tag() + "}:events");
    assertThat(RedisStream.named("payments").withPartitions(4).withPartitions(1).isTagged())
        .isFalse();
    assertThat(one.withPartitions(4).withPartitions(1).isTagged()).isTrue();
  }

  @Test
  void eachTagIsTheSmallestNumberReachingTheCentreOfItsRange() {
    for (int count : new int[] {1, 3, 16}) {
      for (int i = 0; i < count; i++) {
        int target = RedisPartition.targetSlot(i, count);
        assertThat(target).isEqualTo((2 * i + 1) * 16384 / (2 * count));
        String tag = RedisStream.named("payments").withPartitions(count).tagged().partition(i)
            .tag();
        int n = Integer.parseInt(tag.substring(tag.lastIndexOf(':') + 1));
        assertThat(tag).isEqualTo("payments:" + i + ":" + n);
        assertThat(KeySlot.ofWhole(tag)).isEqualTo(target);
        for (int m = 0; m < n; m++) {
          assertThat(KeySlot.ofWhole("payments:" + i + ":" + m)).isNotEqualTo(target);
        }
      }
    }
  }

  @Test
  void everyTagOfTheLargestCountIsFound() {
    RedisStream s = RedisStream.named("a-namespace.".repeat(5) + "of64")
        .withPartitions(RedisStream.MAX_PARTITIONS);
    for (int i = 0; i < s.partitions(); i++) {
      assertThat(s.partition(i).slot()).isEqualTo(RedisPartition.targetSlot(i, s.partitions()));
    }
  }

  @Test
  void theTagsOfPaymentsInSixteenPartitionsAreTheDocumentedOnes() {
    // docs/redis.md lists them; a change of rule would reset every client of every namespace.
    RedisStream s = RedisStream.named("payments").withPartitions(16);
    List<String> tags = IntStream.range(0, 16).mapToObj(i -> s.partition(i).tag()).toList();
    assertThat(tags).containsExactlyElementsOf(DocumentedTags.PAYMENTS_16);
  }

  @Test
  void partitionsSpreadEvenlyOverThePrimariesRedisCliCreates() {
    List<Integer> counts = new ArrayList<>(IntStream.rangeClosed(1, 40).boxed().toList());
    counts.addAll(List.of(48, 64, 100, 128, 256));
    List<List<SlotRange>> layouts = List.of(redisCliLayout(3), redisCliLayout(6),
        redisCliLayout(12));
    for (int count : counts) {
      RedisStream s = RedisStream.named("payments").withPartitions(count).tagged();
      for (List<SlotRange> layout : layouts) {
        int primaries = layout.size();
        assertThat(layout.get(primaries - 1).last()).isEqualTo(16383);
        int[] held = new int[primaries];
        for (int i = 0; i < count; i++) {
          held[primaryOf(layout, s.partition(i).slot())]++;
        }
        for (int j = 0; j < primaries; j++) {
          assertThat(held[j]).as("P=%d on %d primaries: primary %d", count, primaries, j)
              .isBetween(count / primaries, (count + primaries - 1) / primaries);
        }
      }
    }
  }

  @Test
  void aThousandTopicsSpreadOverThreePrimaries() {
    List<SlotRange> layout = redisCliLayout(3);
    for (String ns : List.of("payments", "orders", "x")) {
      RedisStream s = RedisStream.named(ns).withPartitions(16);
      int[] topics = new int[3];
      for (int t = 0; t < 1000; t++) {
        topics[primaryOf(layout, s.partitionFor("mch_" + t).slot())]++;
      }
      for (int held : topics) {
        assertThat(held).as("%s: topics per primary", ns).isBetween(250, 420);
      }
    }
  }

  @Test
  void aTopicsPartitionIsTheOneWhoseSlotRangeHoldsTheTopicsWholeSlot() {
    RedisStream s = RedisStream.named("payments").withPartitions(16);
    for (String topic : List.of("mch_1", "mch_2", "{mch_1}", "café", "")) {
      int slot = KeySlot.ofWhole(topic);
      int p = s.partitionOf(topic);
      assertThat(p).isEqualTo(slot * 16 / 16384);
      assertThat(slot).isBetween(p * 1024, p * 1024 + 1023); // the range whose centre has its keys
    }
    // the same values docs/redis.md's Python gives
    assertThat(s.partitionOf("mch_1")).isEqualTo(DocumentedTags.MCH_1_OF_16);
    RedisStream seven = RedisStream.named("payments").withPartitions(7);
    assertThat(seven.partitionOf("mch_1")).isEqualTo(KeySlot.ofWhole("mch_1") * 7 / 16384);
    assertThat(seven.partitionFor("mch_1").index()).isEqualTo(seven.partitionOf("mch_1"));
  }

  @Test
  void sequentialTopicsSpreadEvenlyOverThePartitions() {
    // CRC16's low bits follow the digits of sequential ids (slot mod 16 put 97 of mch_0..999 in
    // one partition and 40 in another); the slot's range does not.
    for (int count : new int[] {3, 16, 100}) {
      RedisStream s = RedisStream.named("payments").withPartitions(count);
      int[] topics = new int[count];
      for (int t = 0; t < 20_000; t++) {
        topics[s.partitionOf("mch_" + t)]++;
      }
      double expected = 20_000.0 / count;
      for (int held : topics) {
        assertThat(Math.abs(held - expected) / expected).as("P=%d", count).isLessThan(0.1);
      }
    }
  }

  @Test
  void badPartitionCountsAndIndexesAreRefused() {
    RedisStream s = RedisStream.named("payments");
    assertThatThrownBy(() -> s.withPartitions(0)).hasMessageContaining("1 to 1024");
    assertThatThrownBy(() -> s.withPartitions(1025)).hasMessageContaining("1 to 1024");
    assertThatThrownBy(() -> s.withPartitions(4).partition(4))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("it has 4");
    assertThatThrownBy(() -> s.withPartitions(4).streamKey())
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("4 partitions");
  }
}
