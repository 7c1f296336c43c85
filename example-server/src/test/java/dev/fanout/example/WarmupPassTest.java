package dev.fanout.example;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fanout.core.InMemoryStream;
import dev.fanout.protocol.Authentication;
import dev.fanout.protocol.FanoutNode;
import dev.fanout.protocol.Handshake;
import java.net.URI;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The node's warm-up header lets in a connection that may see only the warm-up's topic. */
class WarmupPassTest {
  private final FanoutNode node = FanoutNode.builder().stream(InMemoryStream.create(10)).build();
  private final WarmupPass auth = new WarmupPass(TestJwts.authenticator(), () -> node);

  private Authentication handshake(Map<String, String> headers) {
    Map<String, List<String>> h = new HashMap<>();
    headers.forEach((k, v) -> h.put(k, List.of(v)));
    return auth.authenticate(Handshake.of(URI.create("/ws"), h, null, null));
  }

  @Test
  void theNodesHeaderLetsInTheWarmUpTopicOnly() {
    Authentication warm = handshake(node.warmupHeaders());
    assertThat(warm.allowed()).isTrue();
    assertThat(warm.scope().topics()).containsExactly(WarmupPass.WARMUP_TOPIC);
    assertThat(warm.scope().isAll()).isFalse();
    assertThat(warm.expiresAt()).isNotNull();
  }

  @Test
  void anyOtherValueIsAHandshakeLikeAnyOtherAndNeedsAToken() {
    String name = node.warmupHeaders().keySet().iterator().next();
    String value = node.warmupHeaders().get(name);
    assertThat(handshake(Map.of(name, value + "x")).reason()).isEqualTo("token missing");
    assertThat(handshake(Map.of(name, "")).reason()).isEqualTo("token missing");
    assertThat(handshake(Map.of(name, value.substring(1))).allowed()).isFalse();
    String token = TestJwts.mint("ops", List.of("mch_01"), Duration.ofMinutes(5));
    Map<String, String> withToken = new HashMap<>(TestJwts.bearer(token));
    withToken.put(name, "guess");
    assertThat(handshake(withToken).scope().topics()).containsExactly("mch_01");
  }

  @Test
  void beforeTheNodeIsBuiltOnlyTokensCount() {
    WarmupPass early = new WarmupPass(TestJwts.authenticator(), () -> null);
    assertThat(early.authenticate(Handshake.of(URI.create("/ws"),
        Map.of("Fanout-Warmup", List.of("anything")), null, null)).reason())
        .isEqualTo("token missing");
  }
}
