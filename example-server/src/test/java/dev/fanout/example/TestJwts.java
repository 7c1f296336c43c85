package dev.fanout.example;

import dev.fanout.core.Scope;
import dev.fanout.jwt.JwtAuthenticator;
import dev.fanout.jwt.Jwts;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * JWTs for the example server's tests: the servers' HS256 authenticator (as --jwt-secret makes
 * it, but with no clock skew, so a token of a few seconds ends its connection in a few seconds)
 * and tokens for it.
 */
final class TestJwts {
  static final String SECRET = "example-server-test-secret-0123456789";

  private TestJwts() {}

  /** What {@code --jwt-secret SECRET --jwt-clock-skew 0s} makes. */
  static JwtAuthenticator authenticator() {
    return JwtAuthenticator.builder().secret(SECRET).scopeClaim("merchants")
        .clockSkew(Duration.ZERO).build();
  }

  /** A token for {@code principal} seeing {@code merchants} (none: all) for {@code ttl}. */
  static String mint(String principal, List<String> merchants, Duration ttl) {
    return minter().mint(principal, merchants.isEmpty() ? Scope.all() : Scope.of(merchants),
        ttl);
  }

  /** A token that expired a minute ago (it was valid for a minute, ten minutes ago). */
  static String expired(String principal) {
    return minter().clock(Clock.offset(Clock.systemUTC(), Duration.ofMinutes(-10)))
        .mint(principal, Scope.all(), Duration.ofMinutes(9));
  }

  static Jwts.Minter minter() {
    return Jwts.hs256(SECRET).scopeClaim("merchants");
  }

  /** The handshake header that carries {@code token}. */
  static Map<String, String> bearer(String token) {
    return Map.of("Authorization", "Bearer " + token);
  }
}
