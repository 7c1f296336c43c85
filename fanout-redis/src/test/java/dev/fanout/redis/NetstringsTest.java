package dev.fanout.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fanout.core.Event;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class NetstringsTest {
  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void decodesAnEventWithMultibyteText() {
    String data = "{\"n\":\"é☃\"}";
    int dataBytes = utf8(data).length;
    Event e = Netstrings.decodeEvent(utf8("6:ep:123" + "5:mch_1" + dataBytes + ":" + data
        + "6:method" + "4:card"));
    assertThat(e.id().toString()).isEqualTo("ep:123");
    assertThat(e.topic()).isEqualTo("mch_1");
    assertThat(e.data()).isEqualTo(data);
    assertThat(e.attribute("method")).isEqualTo("card");
    assertThat(e.publishedAtMillis()).isZero(); // a message without a publish time
  }

  @Test
  void thePublishTimeIsTheLastPairWithAnEmptyName() {
    Event e = Netstrings.decodeEvent(utf8("6:ep:123" + "5:mch_1" + "2:{}" + "6:method" + "4:card"
        + "0:" + "13:1764500000123"));
    assertThat(e.publishedAtMillis()).isEqualTo(1_764_500_000_123L);
    assertThat(e.attributes()).containsOnlyKeys("method");
  }

  @Test
  void rejectsTruncatedOrGarbledMessages() {
    assertThatThrownBy(() -> Netstrings.decodeEvent(utf8("6:ep:1235:mch"))).hasMessageContaining(
        "truncated");
    assertThatThrownBy(() -> Netstrings.decodeEvent(utf8("x:ab"))).hasMessageContaining("length");
    assertThatThrownBy(() -> Netstrings.decodeEvent(utf8("99999999999:a")))
        .hasMessageContaining("length");
    assertThatThrownBy(() -> Netstrings.decodeEvent(utf8("3:bad1:t2:{}")))
        .hasMessageContaining("event id");
  }
}
