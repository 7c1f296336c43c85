package dev.fanout.redis;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** A namespace's recorded partition count against a publisher's or node's configuration. */
class PartitionRecordTest {
  private static final RedisStream SINGLE = RedisStream.named("payments");
  private static final RedisStream SIXTEEN = RedisStream.named("payments").withPartitions(16);

  @Test
  void theSingleLayoutRunsOnANamespaceWithoutARecord() {
    assertThat(PartitionRecord.refusal(SINGLE, null, "node")).isNull();
  }

  @Test
  void theSingleLayoutRefusesARecordedNamespace() {
    assertThat(PartitionRecord.refusal(SINGLE, 16L, "node")).isEqualTo("namespace payments has "
        + "16 partitions in the tagged layout (recorded in {payments}:partitions); this node is "
        + "configured with 1 in the single layout: configure 16 partitions");
    assertThat(PartitionRecord.refusal(SINGLE, 1L, "publisher"))
        .contains("has 1 partition in the tagged layout").endsWith("on a cluster URI");
  }

  @Test
  void theTaggedLayoutRunsOnItsOwnCount() {
    assertThat(PartitionRecord.refusal(SIXTEEN, 16L, "publisher")).isNull();
    assertThat(PartitionRecord.refusal(SINGLE.tagged(), 1L, "publisher")).isNull();
  }

  @Test
  void theTaggedLayoutRefusesAnotherCountOrTheSingleLayout() {
    assertThat(PartitionRecord.refusal(SIXTEEN, 8L, "publisher")).isEqualTo("namespace "
        + "payments has 8 partitions (recorded in {payments}:partitions); this publisher is "
        + "configured with 16");
    assertThat(PartitionRecord.refusal(SIXTEEN, PartitionRecord.SINGLE_LAYOUT, "node"))
        .startsWith("namespace payments has 1 partition in the single layout ({payments}:meta")
        .contains("this node is configured with 16 in the tagged layout");
  }
}
