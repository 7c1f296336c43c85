package dev.fanout.example;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fanout.protocol.Authentication;
import dev.fanout.protocol.Handshake;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Which token a request carries: exactly one, from the query or a Bearer header, or none. */
class HmacTokensTest {
  private final HmacTokens tokens = new HmacTokens("hmac-test-secret-0123", Clock.systemUTC());
  private final String a = tokens.mint("a", List.of("mch_01"), Duration.ofMinutes(5));
  private final String b = tokens.mint("b", List.of(), Duration.ofMinutes(5));

  private Authentication auth(String query, List<String> authorization) {
    return tokens.authenticate(Handshake.of(URI.create("/ws" + query),
        authorization.isEmpty() ? Map.of() : Map.of("Authorization", authorization), null, null));
  }

  @Test
  void oneTokenFromTheQueryOrABearerHeaderIsRead() {
    assertThat(auth("?token=" + a, List.of()).principal()).isEqualTo("a");
    assertThat(auth("", List.of("Bearer " + b)).principal()).isEqualTo("b");
    assertThat(auth("?token=" + a, List.of("Basic dXNlcjpwdw==")).principal())
        .as("another scheme is not a token").isEqualTo("a");
    assertThat(auth("", List.of()).reason()).isEqualTo("token missing");
  }

  @Test
  void aRequestWithTwoTokensIsRefusedWhicheverTheyAre() {
    for (Authentication refused : List.of(auth("?token=" + a + "&token=" + b, List.of()),
        auth("?token=" + b + "&token=" + a, List.of()),
        auth("?token=" + a + "&token=" + a, List.of()),
        auth("?token=" + a, List.of("Bearer " + b)),
        auth("", List.of("Bearer " + a, "Bearer " + b)))) {
      assertThat(refused.allowed()).isFalse();
      assertThat(refused.status()).isEqualTo(401);
      assertThat(refused.reason()).isEqualTo("more than one token");
    }
  }
}
