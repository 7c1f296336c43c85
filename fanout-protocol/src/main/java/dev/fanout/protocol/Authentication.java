package dev.fanout.protocol;

import dev.fanout.core.Scope;
import java.time.Instant;
import java.util.Objects;

/**
 * The outcome of an {@link Authenticator}: a principal with the topics (merchants) it may see, or
 * a refusal with an HTTP status (401 when credentials are missing or invalid, 403 when they are
 * valid but not enough).
 */
public final class Authentication {
  /**
   * The principal of {@link Authenticator#allowAll()}: connections that did not say who they are
   * (per-principal limits then apply per client address, where the transport tells it).
   */
  public static final String ANONYMOUS = "anonymous";

  private final String principal;
  private final Scope scope;
  private final int status;
  private final String reason;
  private final Instant expiresAt; // null: as long as the connection lasts

  private Authentication(String principal, Scope scope, int status, String reason,
      Instant expiresAt) {
    this.principal = principal;
    this.scope = scope;
    this.status = status;
    this.reason = reason;
    this.expiresAt = expiresAt;
  }

  /** Lets the connection in as {@code principal}, limited to {@code scope}. */
  public static Authentication allow(String principal, Scope scope) {
    Objects.requireNonNull(principal, "principal");
    Objects.requireNonNull(scope, "scope");
    return new Authentication(principal, scope, 0, null, null);
  }

  /**
   * Lets the connection in as {@code principal}, limited to {@code scope}, until {@code
   * expiresAt} (a token's expiry): then the server closes it with {@value
   * ProtocolSession#CREDENTIALS_EXPIRED} "credentials expired", and the client must connect again
   * with fresh credentials.
   */
  public static Authentication allowUntil(String principal, Scope scope, Instant expiresAt) {
    Objects.requireNonNull(principal, "principal");
    Objects.requireNonNull(scope, "scope");
    return new Authentication(principal, scope, 0, null,
        Objects.requireNonNull(expiresAt, "expiresAt"));
  }

  /** Refuses with 401 Unauthorized: no credentials, or invalid ones. */
  public static Authentication unauthorized(String reason) {
    return new Authentication(null, null, 401, Objects.requireNonNull(reason, "reason"), null);
  }

  /** Refuses with 403 Forbidden: valid credentials that do not grant access. */
  public static Authentication forbidden(String reason) {
    return new Authentication(null, null, 403, Objects.requireNonNull(reason, "reason"), null);
  }

  /** Refuses with any 4xx or 5xx status, such as 503 while the server is shutting down. */
  public static Authentication refused(int status, String reason) {
    if (status < 400 || status > 599) {
      throw new IllegalArgumentException("a refusal needs a 4xx or 5xx status, got " + status);
    }
    return new Authentication(null, null, status, Objects.requireNonNull(reason, "reason"),
        null);
  }

  /** The same outcome, as a distinct object (the node marks warm-up handshakes by identity). */
  Authentication copy() {
    return new Authentication(principal, scope, status, reason, expiresAt);
  }

  public boolean allowed() {
    return principal != null;
  }

  /** The principal's name, or null when refused. */
  public String principal() {
    return principal;
  }

  /** The topics the principal may see, or null when refused. */
  public Scope scope() {
    return scope;
  }

  /** The HTTP status of a refusal (401, 403, 503...), 0 when allowed. */
  public int status() {
    return status;
  }

  /** When the credentials expire (the connection is closed then), or null for never. */
  public Instant expiresAt() {
    return expiresAt;
  }

  /** Why it was refused, or null. */
  public String reason() {
    return reason;
  }

  @Override
  public String toString() {
    return allowed() ? "Allowed{" + principal + ", " + scope + "}"
        : "Refused{" + status + ", " + reason + "}";
  }
}
