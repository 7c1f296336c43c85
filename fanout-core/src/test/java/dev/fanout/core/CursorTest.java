package dev.fanout.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Ids that name their partition, and positions across partitions: one spelling each. */
class CursorTest {
  @Test
  void anIdNamesItsPartitionOrNone() {
    EventId p = EventId.parse("3.k7Qm2x:1042");
    assertThat(p.partition()).isEqualTo(3);
    assertThat(p.isPartitioned()).isTrue();
    assertThat(p.epoch()).isEqualTo("k7Qm2x");
    assertThat(p.toString()).isEqualTo("3.k7Qm2x:1042");
    EventId plain = EventId.parse("k7Qm2x:1042");
    assertThat(plain.isPartitioned()).isFalse();
    assertThat(plain.partition()).isZero();
    assertThat(plain).isNotEqualTo(EventId.parse("0.k7Qm2x:1042"));
    assertThat(plain.sameEpoch(EventId.parse("0.k7Qm2x:1"))).isFalse();
    assertThat(p.sameEpoch(EventId.of(3, "k7Qm2x", 1))).isTrue();
    assertThat(p.sameEpoch(EventId.of(4, "k7Qm2x", 1))).isFalse();
    assertThat(p.isAfter(EventId.of(3, "k7Qm2x", 1041))).isTrue();
  }

  @Test
  void malformedPartitionsAreRefused() {
    for (String bad : List.of(".a:1", "03.a:1", "1024.a:1", "-1.a:1", "1.2.a:1", "x.a:1",
        "12345.a:1")) {
      assertThatThrownBy(() -> EventId.parse(bad)).as(bad)
          .isInstanceOf(MalformedEventIdException.class);
    }
    assertThat(EventId.parse("1023.a:1").partition()).isEqualTo(1023);
  }

  @Test
  void aCursorIsOneIdPerPartitionInPartitionOrder() {
    Cursor c = Cursor.parse("3.b:40,0.a:12");
    assertThat(c.toString()).isEqualTo("0.a:12,3.b:40");
    assertThat(c.get(3)).isEqualTo(EventId.parse("3.b:40"));
    assertThat(c.get(1)).isNull();
    assertThat(Cursor.parse("a:12").single()).isEqualTo(EventId.parse("a:12"));
    assertThat(Cursor.parse(c.toString())).isEqualTo(c);
  }

  @Test
  void aCursorRefusesTwoIdsOfOnePartitionAMixAndEmptyParts() {
    for (String bad : List.of("0.a:1,0.b:2", "a:1,0.b:2", "a:1,b:2", "0.a:1,", ",0.a:1", "")) {
      assertThatThrownBy(() -> Cursor.parse(bad)).as(bad)
          .isInstanceOf(MalformedEventIdException.class);
    }
  }
}
