package dev.fanout.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.NullSource;
import org.junit.jupiter.params.provider.ValueSource;

class EventIdTest {

  @Test
  void parsesAndPrintsTheWireForm() {
    EventId id = EventId.parse("k7Qm2x:1042");
    assertThat(id.epoch()).isEqualTo("k7Qm2x");
    assertThat(id.seq()).isEqualTo(1042);
    assertThat(id).hasToString("k7Qm2x:1042").isEqualTo(EventId.of("k7Qm2x", 1042));
    assertThat(EventId.parse("a:" + Long.MAX_VALUE).seq()).isEqualTo(Long.MAX_VALUE);
  }

  @ParameterizedTest
  @NullSource
  @ValueSource(strings = {"", ":", "abc", "abc:", ":1", "abc:0", "abc:-1", "abc:+1", "abc:01",
      "abc:1.0", "abc:1e3", "ab c:1", "ab-c:1", "a:b:1", "abc:1 ", " abc:1", "é:1",
      "abc:99999999999999999999", "abc:9223372036854775808",
      "abcdefghijklmnopqrstuvwxyz0123456:1"})
  void rejectsMalformedIdsWithAClearMessage(String text) {
    assertThatThrownBy(() -> EventId.parse(text))
        .isInstanceOf(MalformedEventIdException.class)
        .isInstanceOf(FanoutException.class)
        .hasMessageContaining("event id");
  }

  @Test
  void longHostileInputIsAbbreviatedInTheMessage() {
    String hostile = "x".repeat(100_000) + ":1";
    assertThatThrownBy(() -> EventId.parse(hostile))
        .isInstanceOf(MalformedEventIdException.class)
        .satisfies(e -> assertThat(e.getMessage().length()).isLessThan(300));
  }

  @Test
  void ofValidatesEpochAndSequence() {
    assertThatThrownBy(() -> EventId.of("a b", 1)).isInstanceOf(MalformedEventIdException.class);
    assertThatThrownBy(() -> EventId.of("ab", 0)).hasMessageContaining("1 or more");
    assertThat(EventId.of("x".repeat(32), 1).epoch()).hasSize(32);
  }

  @Test
  void ordersOnlyWithinAnEpoch() {
    EventId a5 = EventId.of("a", 5);
    assertThat(a5.next()).isEqualTo(EventId.of("a", 6));
    assertThat(a5.next().isAfter(a5)).isTrue();
    assertThat(a5.isAfter(a5)).isFalse();
    assertThat(EventId.of("b", 9).isAfter(a5)).isFalse();
    assertThat(a5.isAfter(EventId.of("b", 1))).isFalse();
    assertThat(a5.compareTo(EventId.of("a", 10))).isNegative();
  }

  @Test
  void newEpochsAreValidAndDistinct() {
    String e1 = EventId.newEpoch();
    String e2 = EventId.newEpoch();
    assertThat(EventId.isValidEpoch(e1)).isTrue();
    assertThat(e1).hasSize(12).isNotEqualTo(e2);
  }
}
