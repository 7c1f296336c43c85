package dev.fanout.redis;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Redis Cluster's key slot; KeySlotIntegrationTest compares it with CLUSTER KEYSLOT. */
class KeySlotTest {

  @Test
  void crc16IsXmodem() {
    byte[] check = "123456789".getBytes(StandardCharsets.US_ASCII);
    assertThat(KeySlot.crc16(check, 0, check.length)).isEqualTo(0x31C3);
    assertThat(KeySlot.crc16(new byte[0], 0, 0)).isZero();
  }

  @Test
  void slotsAreThoseRedisDocuments() {
    assertThat(KeySlot.of("foo")).isEqualTo(12182);
    assertThat(KeySlot.of("bar")).isEqualTo(5061);
    assertThat(KeySlot.of("123456789")).isEqualTo(0x31C3 & 16383);
  }

  @Test
  void onlyTheFirstNonEmptyHashTagIsHashed() {
    assertThat(KeySlot.of("{user1000}.following")).isEqualTo(KeySlot.of("user1000"))
        .isEqualTo(KeySlot.of("{user1000}.followers"));
    assertThat(KeySlot.of("foo{bar}{zap}")).isEqualTo(KeySlot.of("bar"));
    assertThat(KeySlot.of("foo{{bar}}zap")).isEqualTo(KeySlot.of("{bar"));
    assertThat(KeySlot.of("foo{}{bar}")).isEqualTo(KeySlot.ofWhole("foo{}{bar}"));
    assertThat(KeySlot.of("a{b")).isEqualTo(KeySlot.ofWhole("a{b"));
    assertThat(KeySlot.of("}{x}")).isEqualTo(KeySlot.of("x"));
    assertThat(KeySlot.of("{payments}:stream")).isEqualTo(KeySlot.ofWhole("payments"));
  }

  @Test
  void slotsAreTakenOverUtf8Bytes() {
    byte[] bytes = "café☃".getBytes(StandardCharsets.UTF_8);
    assertThat(KeySlot.ofWhole("café☃")).isEqualTo(KeySlot.crc16(bytes, 0, bytes.length) & 16383);
    assertThat(KeySlot.of("x{☃}")).isEqualTo(KeySlot.ofWhole("☃"));
  }
}
