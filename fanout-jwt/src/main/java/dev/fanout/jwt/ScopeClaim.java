package dev.fanout.jwt;

import dev.fanout.core.Scope;
import dev.fanout.core.internal.Require;
import dev.fanout.protocol.Authentication;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The mapping from a token's verified claims to an {@link Authentication}: the principal from
 * {@code sub}, the topics it may see from one named claim ({@code merchants} for payments), the
 * expiry from {@code exp}. {@link JwtAuthenticator} uses it after checking a token; an
 * application whose tokens another library checks (Spring Security's {@code JwtDecoder}) uses it
 * on its own: {@code ScopeClaim.named("merchants").authentication(jwt.getClaims(),
 * jwt.getExpiresAt())}.
 *
 * <p>The claim's accepted JSON shapes, exactly:
 *
 * <table>
 *   <caption>scope claim values</caption>
 *   <tr><th>value</th><th>outcome</th></tr>
 *   <tr><td>{@code "*"}</td><td>{@link Scope#all()}</td></tr>
 *   <tr><td>{@code ["*"]}</td><td>{@link Scope#all()}</td></tr>
 *   <tr><td>{@code ["mch_1","mch_2"]}: non-empty strings</td><td>{@code Scope.of(...)}</td></tr>
 *   <tr><td>absent, or {@code []}</td><td>403 {@link JwtRefusal#NO_TOPICS}</td></tr>
 *   <tr><td>anything else: another string (even {@code "mch_1"}), a number, a boolean, an
 *   object, {@code null}, a list holding anything but non-empty strings, {@code "*"} beside a
 *   topic</td><td>403 {@link JwtRefusal#INVALID_SCOPE_CLAIM}</td></tr>
 * </table>
 *
 * <p>A single string other than {@code "*"} is refused rather than read as one topic or split on
 * spaces, so that an OAuth {@code scope} claim ({@code "read write"}) named by mistake grants
 * nothing. Immutable and thread-safe.
 */
public final class ScopeClaim {
  /** The claim read when none is configured. */
  public static final String DEFAULT_NAME = "topics";
  /** The value that grants every topic. */
  public static final String ALL = "*";
  /** The longest principal ({@code sub}) accepted: it keys per-principal caps and logs. */
  static final int MAX_PRINCIPAL_CHARS = 256;

  private final String name;

  private ScopeClaim(String name) {
    this.name = name;
  }

  /** Reads the topics from the claim called {@code name}. */
  public static ScopeClaim named(String name) {
    Objects.requireNonNull(name, "scope claim name");
    Require.argument(!name.isBlank(), "the scope claim name must not be blank");
    return new ScopeClaim(name);
  }

  /** The claim's name. */
  public String name() {
    return name;
  }

  /**
   * Maps claims that were already verified (signature, issuer, audience, times) to the
   * connection's authentication: allowed as {@code sub} with the claim's scope until {@code
   * expiresAt} (then the node closes the connection with 4003), or refused with a {@link
   * JwtRefusal}. Claim values are as JSON parsers give them: strings, lists (any {@link
   * Collection}), numbers, maps.
   *
   * @param expiresAt the token's expiry; null lets the connection live as long as it lasts
   */
  public Authentication authentication(Map<String, ?> claims, Instant expiresAt) {
    Objects.requireNonNull(claims, "claims");
    Object sub = claims.get("sub");
    if (!(sub instanceof String) || !validPrincipal((String) sub)) {
      return JwtRefusal.INVALID_TOKEN.authentication();
    }
    Object value = claims.get(name);
    if (value == null && !claims.containsKey(name)) {
      return JwtRefusal.NO_TOPICS.authentication();
    }
    Scope scope;
    if (ALL.equals(value)) {
      scope = Scope.all();
    } else if (value instanceof Collection) {
      Collection<?> list = (Collection<?>) value;
      if (list.isEmpty()) {
        return JwtRefusal.NO_TOPICS.authentication();
      }
      scope = topics(list);
      if (scope == null) {
        return JwtRefusal.INVALID_SCOPE_CLAIM.authentication();
      }
    } else {
      return JwtRefusal.INVALID_SCOPE_CLAIM.authentication();
    }
    String principal = (String) sub;
    return expiresAt == null ? Authentication.allow(principal, scope)
        : Authentication.allowUntil(principal, scope, expiresAt);
  }

  /** The scope a non-empty list grants, or null when the list has the wrong shape. */
  private static Scope topics(Collection<?> list) {
    if (list.size() == 1 && ALL.equals(list.iterator().next())) {
      return Scope.all();
    }
    List<String> topics = new ArrayList<>(list.size());
    for (Object t : list) {
      if (!(t instanceof String) || ((String) t).isEmpty() || ALL.equals(t)) {
        return null;
      }
      topics.add((String) t);
    }
    return Scope.of(topics);
  }

  private static boolean validPrincipal(String s) {
    if (s.isEmpty() || s.length() > MAX_PRINCIPAL_CHARS) {
      return false;
    }
    for (int i = 0; i < s.length(); i++) {
      if (Character.isISOControl(s.charAt(i))) {
        return false;
      }
    }
    return true;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ScopeClaim && ((ScopeClaim) o).name.equals(name);
  }

  @Override
  public int hashCode() {
    return name.hashCode();
  }

  @Override
  public String toString() {
    return "ScopeClaim{" + name + "}";
  }
}
