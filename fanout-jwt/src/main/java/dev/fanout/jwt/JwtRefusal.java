package dev.fanout.jwt;

import dev.fanout.protocol.Authentication;

/**
 * Every reason this module refuses a handshake for: a small fixed set, because a reason is sent
 * to the client (in the 401 or 403 body) and the node counts refusals by reason. None of them
 * ever carries any part of a token.
 *
 * <p>401 says "bring other credentials" (missing, unreadable, expired, not for this server); 403
 * says "your credentials are valid but grant nothing here" (the scope claim).
 */
public enum JwtRefusal {
  /** No token in any enabled source. */
  TOKEN_MISSING(401, "token missing"),
  /** Over {@link TokenSources#maxTokenBytes()}: refused before any parsing. */
  TOKEN_TOO_LARGE(401, "token too large"),
  /** More than one token (two sources, or one source twice): none is chosen. */
  AMBIGUOUS_TOKEN(401, "ambiguous token"),
  /** A token in the URL's query while that source is not enabled. */
  TOKEN_IN_URL(401, "token in URL not allowed"),
  /**
   * Malformed, badly signed, an algorithm other than the pinned ones ({@code none}, HS256 on a
   * public-key server), a {@code crit}, {@code jku}, {@code x5u}, {@code jwk} or {@code x5c}
   * header, no {@code exp} or {@code sub}: one reason for all, so a forger learns nothing.
   */
  INVALID_TOKEN(401, "invalid token"),
  /** Its {@code kid} is not in the JWKS, even after the refresh it may cause. */
  UNKNOWN_SIGNING_KEY(401, "unknown signing key"),
  /** {@code exp} is past (beyond the clock skew). */
  TOKEN_EXPIRED(401, "token expired"),
  /** {@code nbf} or {@code iat} is in the future (beyond the clock skew). */
  TOKEN_NOT_YET_VALID(401, "token not yet valid"),
  /** {@code iss} is not the configured issuer. */
  WRONG_ISSUER(401, "wrong issuer"),
  /** {@code aud} does not name the configured audience. */
  WRONG_AUDIENCE(401, "wrong audience"),
  /** The scope claim has a shape other than those {@link ScopeClaim} accepts. */
  INVALID_SCOPE_CLAIM(403, "invalid scope claim"),
  /** The scope claim is absent or an empty list: the token grants no topic. */
  NO_TOPICS(403, "no topics granted");

  private final int status;
  private final String reason;
  private final Authentication authentication; // immutable: one per reason, not one per refusal

  JwtRefusal(int status, String reason) {
    this.status = status;
    this.reason = reason;
    this.authentication = status == 403 ? Authentication.forbidden(reason)
        : Authentication.unauthorized(reason);
  }

  /** The HTTP status the handshake is refused with: 401 or 403. */
  public int status() {
    return status;
  }

  /** The reason as sent to the client and counted by the node. */
  public String reason() {
    return reason;
  }

  /** This refusal as the {@link Authentication} an authenticator returns. */
  public Authentication authentication() {
    return authentication;
  }
}
