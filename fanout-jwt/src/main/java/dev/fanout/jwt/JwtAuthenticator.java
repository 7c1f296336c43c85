package dev.fanout.jwt;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.fanout.core.internal.Require;
import dev.fanout.protocol.Authentication;
import dev.fanout.protocol.Authenticator;
import dev.fanout.protocol.Handshake;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.PublicKey;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Collections;
import java.util.Date;
import java.util.EnumSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An {@link Authenticator} for JSON Web Tokens: finds the one token in the handshake ({@link
 * TokenSources}), verifies it against a pinned algorithm and a key (a shared secret, a PEM public
 * key, or a JWKS URL kept fresh), checks {@code exp}, {@code nbf}, {@code iat}, {@code iss} and
 * {@code aud}, and maps {@code sub} and the scope claim to the connection's principal and topics
 * ({@link ScopeClaim}). The connection is let in until the token's {@code exp} (plus the clock
 * skew, the last moment a new handshake with it would pass): the node then closes it with 4003.
 *
 * <pre>{@code
 * FanoutNode.builder()
 *     .authenticator(JwtAuthenticator.builder()
 *         .jwksUrl(URI.create("https://login.example.com/.well-known/jwks.json"))
 *         .algorithms(JwtAlgorithm.RS256)
 *         .issuer("https://login.example.com/")
 *         .audience("payments-feed")
 *         .scopeClaim("merchants")
 *         .build())
 *     ...
 * }</pre>
 *
 * <p>Refusals are one of the fixed {@link JwtRefusal}s; nothing this class logs or returns
 * holds any part of a token, and it never throws from {@link #authenticate}. Thread-safe.
 */
public final class JwtAuthenticator implements Authenticator {
  private static final Logger log = LoggerFactory.getLogger(JwtAuthenticator.class);
  /** Header parameters that would bring keys or rules from outside the configuration. */
  private static final List<String> REFUSED_HEADERS = List.of("crit", "jku", "x5u", "jwk", "x5c");

  private final Set<JwtAlgorithm> algorithms;
  private final KeySource keys;
  private final URI jwksUrl;
  private final String issuer;
  private final String audience;
  private final ScopeClaim scopeClaim;
  private final Duration clockSkew;
  private final TokenSources sources;
  private final Clock clock;
  private final Duration jwksRefreshInterval;
  private final Duration jwksMaxAge;
  private final Duration jwksWait;
  private final Duration jwksTimeout;

  private JwtAuthenticator(Builder b, Set<JwtAlgorithm> algorithms, KeySource keys) {
    this.algorithms = Collections.unmodifiableSet(EnumSet.copyOf(algorithms));
    this.keys = keys;
    this.jwksUrl = b.jwksUrl;
    this.issuer = b.issuer;
    this.audience = b.audience;
    this.scopeClaim = b.scopeClaim;
    this.clockSkew = b.clockSkew;
    this.sources = b.sources;
    this.clock = b.clock;
    this.jwksRefreshInterval = b.jwksRefreshInterval;
    this.jwksMaxAge = b.jwksMaxAge;
    this.jwksWait = b.jwksWait;
    this.jwksTimeout = b.jwksTimeout;
  }

  /** The settings of a new authenticator: one key source, then the checks (see {@link Builder}). */
  public static Builder builder() {
    return new Builder();
  }

  /** Finds the handshake's one token and {@link #verify verifies} it. Never throws. */
  @Override
  public Authentication authenticate(Handshake handshake) {
    TokenSources.Found found = sources.find(handshake);
    return found.found() ? verify(found.token()) : found.refusal().authentication();
  }

  /**
   * Verifies {@code token} (however it arrived) and maps its claims: allowed until its {@code
   * exp} plus the {@link #clockSkew()}, or refused with a {@link JwtRefusal}. Never throws.
   */
  public Authentication verify(String token) {
    try {
      return check(token);
    } catch (RuntimeException e) {
      // a library's surprise must not reach the node's log with the token in its message
      log.debug("unexpected {} while checking a token; refused", e.getClass().getName());
      return JwtRefusal.INVALID_TOKEN.authentication();
    }
  }

  private Authentication check(String token) {
    if (token == null || token.isEmpty()) {
      return refused(JwtRefusal.TOKEN_MISSING);
    }
    if (token.length() > sources.maxTokenBytes()) {
      return refused(JwtRefusal.TOKEN_TOO_LARGE);
    }
    if (!compactShape(token)) {
      return refused(JwtRefusal.INVALID_TOKEN);
    }
    SignedJWT jwt;
    try {
      jwt = SignedJWT.parse(token); // rejects alg "none": not a JWS header
    } catch (ParseException e) {
      return refused(JwtRefusal.INVALID_TOKEN);
    }
    JWSHeader header = jwt.getHeader();
    JwtAlgorithm algorithm = JwtAlgorithm.of(header.getAlgorithm());
    if (algorithm == null || !algorithms.contains(algorithm) || !headerAllowed(header)) {
      return refused(JwtRefusal.INVALID_TOKEN);
    }
    SigningKey key = keys.find(algorithm, header.getKeyID());
    if (key == null) {
      return refused(jwksUrl == null ? JwtRefusal.INVALID_TOKEN
          : JwtRefusal.UNKNOWN_SIGNING_KEY);
    }
    try {
      if (!jwt.verify(key.verifier())) {
        return refused(JwtRefusal.INVALID_TOKEN);
      }
    } catch (JOSEException e) {
      return refused(JwtRefusal.INVALID_TOKEN);
    }
    JWTClaimsSet claims;
    try {
      claims = jwt.getJWTClaimsSet();
    } catch (ParseException e) {
      return refused(JwtRefusal.INVALID_TOKEN);
    }
    return claims(claims);
  }

  /** {@code header.payload.signature}, base64url, no empty part: before any decoding. */
  private static boolean compactShape(String token) {
    int dots = 0;
    int partLength = 0;
    for (int i = 0; i < token.length(); i++) {
      char c = token.charAt(i);
      if (c == '.') {
        if (partLength == 0) {
          return false;
        }
        dots++;
        partLength = 0;
      } else if (c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
          || c == '-' || c == '_') {
        partLength++;
      } else {
        return false;
      }
    }
    return dots == 2 && partLength > 0;
  }

  /** No {@code crit}, no key or key location in the header, but a {@code jku} equal to ours. */
  private boolean headerAllowed(JWSHeader header) {
    Set<String> params = header.getIncludedParams();
    for (String name : REFUSED_HEADERS) {
      if (params.contains(name)
          && !(name.equals("jku") && jwksUrl != null && jwksUrl.equals(header.getJWKURL()))) {
        return false;
      }
    }
    return true;
  }

  private Authentication claims(JWTClaimsSet claims) {
    if (issuer != null && !issuer.equals(claims.getIssuer())) {
      return refused(JwtRefusal.WRONG_ISSUER);
    }
    if (audience != null && (claims.getAudience() == null
        || !claims.getAudience().contains(audience))) {
      return refused(JwtRefusal.WRONG_AUDIENCE);
    }
    Date exp = claims.getExpirationTime();
    if (exp == null) {
      return refused(JwtRefusal.INVALID_TOKEN); // a token for ever: not from us
    }
    Instant now = clock.instant();
    Instant expiresAt = exp.toInstant();
    if (!now.isBefore(expiresAt.plus(clockSkew))) {
      return refused(JwtRefusal.TOKEN_EXPIRED);
    }
    Instant latest = now.plus(clockSkew);
    if (after(claims.getNotBeforeTime(), latest) || after(claims.getIssueTime(), latest)) {
      return refused(JwtRefusal.TOKEN_NOT_YET_VALID);
    }
    // closed when a new handshake with this token would be refused: a client closed with 4003
    // that comes back with the same token gets 401 "token expired", never a 101 and a 4003
    return scopeClaim.authentication(claims.getClaims(), expiresAt.plus(clockSkew));
  }

  private static Authentication refused(JwtRefusal refusal) {
    return refusal.authentication();
  }

  private static boolean after(Date time, Instant limit) {
    return time != null && time.toInstant().isAfter(limit);
  }

  /** Where keys come from (tests in this package wait for a JWKS's first fetch through it). */
  KeySource keySource() {
    return keys;
  }

  /** The algorithms a token may be signed with. */
  public Set<JwtAlgorithm> algorithms() {
    return algorithms;
  }

  /** The JWKS URL keys come from, if not a secret or a fixed public key. */
  public Optional<URI> jwksUrl() {
    return Optional.ofNullable(jwksUrl);
  }

  /** The required {@code iss}, if any. */
  public Optional<String> issuer() {
    return Optional.ofNullable(issuer);
  }

  /** The audience {@code aud} must name, if any. */
  public Optional<String> audience() {
    return Optional.ofNullable(audience);
  }

  /** The claim the topics are read from, and the mapping of verified claims. */
  public ScopeClaim scopeClaim() {
    return scopeClaim;
  }

  /** How far {@code exp}, {@code nbf} and {@code iat} may be off. */
  public Duration clockSkew() {
    return clockSkew;
  }

  /** Where tokens are looked for, and their size limit. */
  public TokenSources tokenSources() {
    return sources;
  }

  /** The shortest time between two JWKS fetches. */
  public Duration jwksRefreshInterval() {
    return jwksRefreshInterval;
  }

  /** The age at which JWKS keys are refreshed in the background. */
  public Duration jwksMaxAge() {
    return jwksMaxAge;
  }

  /** The longest a handshake with an unknown {@code kid} waits for a JWKS fetch. */
  public Duration jwksWait() {
    return jwksWait;
  }

  /** The JWKS fetch's connect and read timeout. */
  public Duration jwksTimeout() {
    return jwksTimeout;
  }

  /** Never shows a secret. */
  @Override
  public String toString() {
    return "JwtAuthenticator{" + algorithms + (jwksUrl == null ? "" : ", jwks " + jwksUrl)
        + (issuer == null ? "" : ", iss " + issuer) + (audience == null ? "" : ", aud "
        + audience) + ", " + scopeClaim + ", " + sources + "}";
  }

  static byte[] requireSecret(byte[] secret) {
    Objects.requireNonNull(secret, "secret");
    Require.argument(secret.length >= Keys.MIN_SECRET_BYTES, "the HS256 secret must be at least "
        + "%d bytes (256 bits, RFC 7518 3.2), got %d; make one with 'openssl rand -base64 32'",
        Keys.MIN_SECRET_BYTES, secret.length);
    return secret.clone();
  }

  static String requireText(String value, String what) {
    Objects.requireNonNull(value, what);
    Require.argument(!value.isBlank(), "the %s must not be blank", what);
    return value;
  }

  /**
   * Settings of a {@link JwtAuthenticator}. Exactly one key source: {@link #secret} (HS256),
   * {@link #publicKey} (RS256, ES256 or EdDSA, from the key's type) or {@link #jwksUrl} (RS256
   * unless {@link #algorithms} says otherwise).
   */
  public static final class Builder {
    private byte[] secret;
    private PublicKey publicKey;
    private URI jwksUrl;
    private Set<JwtAlgorithm> algorithms;
    private String issuer;
    private String audience;
    private ScopeClaim scopeClaim = ScopeClaim.named(ScopeClaim.DEFAULT_NAME);
    private Duration clockSkew = Duration.ofSeconds(60);
    private TokenSources sources = TokenSources.defaults();
    private Clock clock = Clock.systemUTC();
    private Duration jwksRefreshInterval = Duration.ofSeconds(30);
    private Duration jwksMaxAge = Duration.ofMinutes(5);
    private Duration jwksWait = Duration.ofSeconds(1);
    private Duration jwksTimeout = Duration.ofSeconds(2);

    private Builder() {}

    /** HS256 with this shared secret: its UTF-8 bytes, at least 32. */
    public Builder secret(String secret) {
      Objects.requireNonNull(secret, "secret");
      return secret(secret.getBytes(StandardCharsets.UTF_8));
    }

    /** HS256 with this shared secret, at least 32 bytes. */
    public Builder secret(byte[] secret) {
      this.secret = requireSecret(secret);
      return this;
    }

    /**
     * A public key as PEM text ({@code -----BEGIN PUBLIC KEY-----}): RSA of 2048 bits or more
     * (RS256), EC P-256 (ES256) or Ed25519 (EdDSA).
     */
    public Builder publicKey(String pem) {
      Objects.requireNonNull(pem, "public key PEM");
      return publicKey(Keys.pem(pem));
    }

    /** A public key: RSA (RS256), EC P-256 (ES256) or Ed25519 (EdDSA). */
    public Builder publicKey(PublicKey key) {
      Objects.requireNonNull(key, "public key");
      Keys.algorithmOf(key); // says now what is wrong with it
      this.publicKey = key;
      return this;
    }

    /**
     * Keys from this JWKS URL (http or https), fetched at {@link #build()} and kept fresh: see
     * {@link #jwksRefreshInterval}, {@link #jwksMaxAge}, {@link #jwksWait}. Use https: whoever
     * can change the answer can sign tokens.
     */
    public Builder jwksUrl(URI url) {
      Objects.requireNonNull(url, "JWKS URL");
      String scheme = url.getScheme() == null ? "" : url.getScheme().toLowerCase();
      Require.argument((scheme.equals("https") || scheme.equals("http"))
          && url.getHost() != null, "the JWKS URL must be an absolute http(s) URL, got %s", url);
      this.jwksUrl = url;
      return this;
    }

    /** {@link #jwksUrl(URI)} from text. */
    public Builder jwksUrl(String url) {
      Objects.requireNonNull(url, "JWKS URL");
      return jwksUrl(URI.create(url.strip()));
    }

    /**
     * Pins the algorithms a token may use (default: HS256 with a secret, the public key's own,
     * RS256 with a JWKS). HS256 never goes with the others: a public key must never be usable as
     * an HMAC secret.
     */
    public Builder algorithms(JwtAlgorithm first, JwtAlgorithm... more) {
      Set<JwtAlgorithm> set = EnumSet.of(Objects.requireNonNull(first, "algorithm"));
      Arrays.stream(more).map(a -> Objects.requireNonNull(a, "algorithm")).forEach(set::add);
      this.algorithms = set;
      return this;
    }

    /** Requires {@code iss} to equal {@code issuer} exactly. */
    public Builder issuer(String issuer) {
      this.issuer = requireText(issuer, "issuer");
      return this;
    }

    /** Requires {@code aud} (a string or a list) to name {@code audience}. */
    public Builder audience(String audience) {
      this.audience = requireText(audience, "audience");
      return this;
    }

    /** Reads the topics from this claim (default {@value ScopeClaim#DEFAULT_NAME}). */
    public Builder scopeClaim(String name) {
      this.scopeClaim = ScopeClaim.named(name);
      return this;
    }

    /**
     * How far {@code exp}, {@code nbf}, {@code iat} may be off: 0 to 5 minutes, default 60 s. A
     * connection lives until {@code exp} plus this.
     */
    public Builder clockSkew(Duration skew) {
      Require.notNegative(skew, "clock skew");
      Require.argument(skew.compareTo(Duration.ofMinutes(5)) <= 0,
          "the clock skew must be at most 5 minutes, got %s", skew);
      this.clockSkew = skew;
      return this;
    }

    /** Where tokens are read from (default {@link TokenSources#defaults()}). */
    public Builder tokenSources(TokenSources sources) {
      this.sources = Objects.requireNonNull(sources, "token sources");
      return this;
    }

    /** The clock token times and JWKS ages are read from (default: the system's, UTC). */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /**
     * The shortest time between two JWKS fetches, whatever causes them (default 30 s): a flood
     * of tokens with unknown {@code kid}s costs one fetch per interval.
     */
    public Builder jwksRefreshInterval(Duration interval) {
      this.jwksRefreshInterval = Require.positive(interval, "JWKS refresh interval");
      return this;
    }

    /**
     * The age at which the keys are fetched again in the background (default 5 min): how long a
     * key removed from the JWKS may still verify. At least the refresh interval.
     */
    public Builder jwksMaxAge(Duration maxAge) {
      this.jwksMaxAge = Require.positive(maxAge, "JWKS max age");
      return this;
    }

    /**
     * The longest a handshake whose {@code kid} is unknown waits for the JWKS fetch it causes
     * (default 1 s, at most 10 s). 0: never wait (refused now, accepted once the fetch lands).
     * Handshakes with a known {@code kid} never wait.
     */
    public Builder jwksWait(Duration wait) {
      Require.notNegative(wait, "JWKS wait");
      Require.argument(wait.compareTo(Duration.ofSeconds(10)) <= 0,
          "the JWKS wait must be at most 10 s (it holds a handshake), got %s", wait);
      this.jwksWait = wait;
      return this;
    }

    /**
     * The JWKS fetch's connect timeout and read timeout (default 2 s); the whole body must
     * arrive within twice it.
     */
    public Builder jwksTimeout(Duration timeout) {
      this.jwksTimeout = Require.positive(timeout, "JWKS timeout");
      return this;
    }

    /**
     * Checks the settings (with a message saying what to fix) and builds; with a JWKS URL,
     * starts fetching the keys in the background.
     */
    public JwtAuthenticator build() {
      int sourcesSet = (secret != null ? 1 : 0) + (publicKey != null ? 1 : 0)
          + (jwksUrl != null ? 1 : 0);
      Require.argument(sourcesSet == 1, "set exactly one of secret (HS256), publicKey "
          + "(PEM) or jwksUrl, got %d", sourcesSet);
      Require.argument(jwksMaxAge.compareTo(jwksRefreshInterval) >= 0, "the JWKS max age (%s) "
          + "must be at least the refresh interval (%s)", jwksMaxAge, jwksRefreshInterval);
      Set<JwtAlgorithm> pinned;
      KeySource keys;
      if (secret != null) {
        pinned = algorithms == null ? EnumSet.of(JwtAlgorithm.HS256) : algorithms;
        Require.argument(pinned.equals(EnumSet.of(JwtAlgorithm.HS256)),
            "a secret verifies HS256 only, got algorithms %s", pinned);
        keys = KeySource.fixed(Keys.secret(secret));
      } else if (publicKey != null) {
        SigningKey key = Keys.publicKey(publicKey);
        pinned = algorithms == null ? EnumSet.of(key.algorithm()) : algorithms;
        Require.argument(pinned.equals(EnumSet.of(key.algorithm())), "this %s public key "
            + "verifies %s only, got algorithms %s", publicKey.getAlgorithm(), key.algorithm(),
            pinned);
        keys = KeySource.fixed(key);
      } else {
        pinned = algorithms == null ? EnumSet.of(JwtAlgorithm.RS256) : algorithms;
        Require.argument(!pinned.contains(JwtAlgorithm.HS256), "HS256 needs a shared secret, "
            + "not a JWKS (a public key must never serve as an HMAC secret)");
        if (jwksUrl.getScheme().equalsIgnoreCase("http") && !loopback(jwksUrl)) {
          log.warn("the JWKS URL {} is plain http: whoever can change its answers on the way "
              + "can sign tokens; use https", jwksUrl);
        }
        keys = new JwksKeys(jwksUrl, pinned, clock, jwksRefreshInterval, jwksMaxAge, jwksWait,
            jwksTimeout).start();
      }
      return new JwtAuthenticator(this, pinned, keys);
    }

    private static boolean loopback(URI url) {
      String host = url.getHost();
      return host.equals("localhost") || host.startsWith("127.") || host.equals("[::1]");
    }
  }
}
