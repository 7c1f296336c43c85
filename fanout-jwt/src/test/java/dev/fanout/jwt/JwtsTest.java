package dev.fanout.jwt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jwt.SignedJWT;
import dev.fanout.core.Scope;
import dev.fanout.protocol.Authentication;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class JwtsTest {
  private final MutableClock clock = MutableClock.atSomeSecond();

  @Test
  void mintedTokensAreWhatTheAuthenticatorAccepts() throws Exception {
    JwtAuthenticator auth = JwtAuthenticator.builder().secret(TestTokens.SECRET)
        .scopeClaim("merchants").issuer("fanout-example").audience("feed").clock(clock).build();
    Jwts.Minter minter = Jwts.hs256(TestTokens.SECRET).scopeClaim("merchants")
        .issuer("fanout-example").audience("feed").clock(clock);
    String some = TestTokens.record(minter.mint("ops-1", Scope.of("mch_2", "mch_1"),
        Duration.ofMinutes(5)));
    Authentication a = auth.verify(some);
    assertThat(a.principal()).isEqualTo("ops-1");
    assertThat(a.scope()).isEqualTo(Scope.of("mch_1", "mch_2"));
    assertThat(a.expiresAt()).isEqualTo(clock.instant().plus(Duration.ofMinutes(5))
        .plus(auth.clockSkew()));
    assertThat(SignedJWT.parse(some).getJWTClaimsSet().getClaim("merchants"))
        .isEqualTo(List.of("mch_1", "mch_2"));

    String all = TestTokens.record(minter.mint("ops-2", Scope.all(), Duration.ofSeconds(30)));
    assertThat(auth.verify(all).scope()).isEqualTo(Scope.all());
    assertThat(SignedJWT.parse(all).getJWTClaimsSet().getClaim("merchants")).isEqualTo("*");
    clock.advance(Duration.ofSeconds(91));
    assertThat(auth.verify(all).reason()).isEqualTo("token expired");
  }

  @Test
  void mintingChecksItsInputs() {
    assertThatThrownBy(() -> Jwts.hs256("short")).hasMessageContaining("at least 32 bytes");
    Jwts.Minter m = Jwts.hs256(TestTokens.SECRET);
    assertThatThrownBy(() -> m.mint("", Scope.all(), Duration.ofMinutes(1)))
        .hasMessageContaining("subject");
    assertThatThrownBy(() -> m.mint("a", Scope.all(), Duration.ofMillis(10)))
        .hasMessageContaining("at least 1 second");
    assertThat(m.toString()).doesNotContain(TestTokens.SECRET);
  }

  @Test
  void theCookieCarriesTheGuidance() {
    String token = TestTokens.record(Jwts.hs256(TestTokens.SECRET).mint("ops-1", Scope.all(),
        Duration.ofMinutes(5)));
    assertThat(Jwts.setCookie("fanout_token", token, Duration.ofMinutes(5), true)).isEqualTo(
        "fanout_token=" + token + "; Path=/; Max-Age=300; HttpOnly; Secure; SameSite=Strict");
    assertThat(Jwts.setCookie("feed", token, Duration.ZERO, false))
        .isEqualTo("feed=" + token + "; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
    assertThatThrownBy(() -> Jwts.setCookie("feed", "a;b", Duration.ZERO, true))
        .hasMessageContaining("cookie value");
    assertThatThrownBy(() -> Jwts.setCookie("a b", token, Duration.ZERO, true))
        .hasMessageContaining("cookie name");
  }
}
