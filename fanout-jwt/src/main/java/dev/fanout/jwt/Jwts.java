package dev.fanout.jwt;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.fanout.core.Scope;
import dev.fanout.core.internal.Require;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Objects;
import java.util.TreeSet;

/**
 * Small helpers for servers that issue their own tokens: an HS256 {@link Minter} (the example
 * server's {@code token} command, tests, a login endpoint) and the {@code Set-Cookie} value that
 * hands a token to a browser page.
 */
public final class Jwts {
  private Jwts() {}

  /**
   * A minter of HS256 tokens signed with {@code secret} (its UTF-8 bytes, at least 32), which a
   * {@link JwtAuthenticator} built with the same secret accepts.
   */
  public static Minter hs256(String secret) {
    Objects.requireNonNull(secret, "secret");
    return hs256(secret.getBytes(StandardCharsets.UTF_8));
  }

  /** A minter of HS256 tokens signed with {@code secret} (at least 32 bytes). */
  public static Minter hs256(byte[] secret) {
    return new Minter(JwtAuthenticator.requireSecret(secret), ScopeClaim.DEFAULT_NAME, null, null,
        Clock.systemUTC());
  }

  /**
   * The {@code Set-Cookie} header value that gives a browser page {@code token} for the
   * WebSocket handshake: {@code HttpOnly} (page scripts, and so XSS, cannot read it), {@code
   * SameSite=Strict} (no other site's page can make the browser send it), {@code Path=/} and
   * {@code Max-Age} (set it to the token's remaining life), and {@code Secure} unless {@code
   * secure} is false (only for plain-HTTP development on localhost).
   */
  public static String setCookie(String name, String token, Duration maxAge, boolean secure) {
    TokenSources.defaults().cookie(name); // the same name check
    Objects.requireNonNull(token, "token");
    Require.argument(!token.isEmpty() && token.chars().allMatch(Jwts::cookieOctet),
        "a cookie value must be a non-empty compact token (no spaces, quotes, commas or ';')");
    Require.notNegative(maxAge, "cookie max age");
    return name + "=" + token + "; Path=/; Max-Age=" + maxAge.toSeconds() + "; HttpOnly"
        + (secure ? "; Secure" : "") + "; SameSite=Strict";
  }

  private static boolean cookieOctet(int c) { // RFC 6265 4.1.1 cookie-octet
    return c == 0x21 || c >= 0x23 && c <= 0x2B || c >= 0x2D && c <= 0x3A
        || c >= 0x3C && c <= 0x5B || c >= 0x5D && c <= 0x7E;
  }

  /**
   * Mints HS256 tokens: {@code sub}, the scope claim ({@code "*"} for {@link Scope#all()}, a
   * list of topics otherwise), {@code iat}, {@code exp}, and {@code iss}/{@code aud} when set.
   * Immutable: every setting returns a new minter.
   */
  public static final class Minter {
    private final byte[] secret;
    private final String scopeClaim;
    private final String issuer;
    private final String audience;
    private final Clock clock;

    private Minter(byte[] secret, String scopeClaim, String issuer, String audience,
        Clock clock) {
      this.secret = secret;
      this.scopeClaim = scopeClaim;
      this.issuer = issuer;
      this.audience = audience;
      this.clock = clock;
    }

    /** Puts the scope in the claim {@code name} (default {@value ScopeClaim#DEFAULT_NAME}). */
    public Minter scopeClaim(String name) {
      return new Minter(secret, ScopeClaim.named(name).name(), issuer, audience, clock);
    }

    /** Sets {@code iss}. */
    public Minter issuer(String issuer) {
      return new Minter(secret, scopeClaim, JwtAuthenticator.requireText(issuer, "issuer"),
          audience, clock);
    }

    /** Sets {@code aud}. */
    public Minter audience(String audience) {
      return new Minter(secret, scopeClaim, issuer,
          JwtAuthenticator.requireText(audience, "audience"), clock);
    }

    /** The clock {@code iat} and {@code exp} are read from (default: the system's). */
    public Minter clock(Clock clock) {
      return new Minter(secret, scopeClaim, issuer, audience,
          Objects.requireNonNull(clock, "clock"));
    }

    /**
     * A token for {@code subject} seeing {@code scope}, valid for {@code ttl} from now (whole
     * seconds: JWT times are).
     */
    public String mint(String subject, Scope scope, Duration ttl) {
      JwtAuthenticator.requireText(subject, "subject");
      Require.argument(subject.length() <= ScopeClaim.MAX_PRINCIPAL_CHARS,
          "the subject must be at most %d characters", ScopeClaim.MAX_PRINCIPAL_CHARS);
      Objects.requireNonNull(scope, "scope");
      Require.argument(!ttl.isNegative() && !ttl.isZero() && ttl.toSeconds() >= 1,
          "the token's time to live must be at least 1 second, got %s", ttl);
      Instant now = clock.instant();
      JWTClaimsSet.Builder claims = new JWTClaimsSet.Builder()
          .subject(subject)
          .issueTime(Date.from(now))
          .expirationTime(Date.from(now.plusSeconds(ttl.toSeconds())))
          .claim(scopeClaim, scope.isAll() ? ScopeClaim.ALL
              : List.copyOf(new TreeSet<>(scope.topics())));
      if (issuer != null) {
        claims.issuer(issuer);
      }
      if (audience != null) {
        claims.audience(audience);
      }
      SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.HS256)
          .type(JOSEObjectType.JWT).build(), claims.build());
      try {
        jwt.sign(new MACSigner(secret));
      } catch (JOSEException e) {
        throw new IllegalStateException("HS256 signing failed", e); // the JDK has HmacSHA256
      }
      return jwt.serialize();
    }

    /** Never shows the secret. */
    @Override
    public String toString() {
      return "Jwts.Minter{HS256, scope claim " + scopeClaim + "}";
    }
  }
}
