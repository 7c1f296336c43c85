package dev.fanout.spring;

import dev.fanout.jwt.JwtRefusal;
import dev.fanout.jwt.ScopeClaim;
import dev.fanout.jwt.TokenSources;
import dev.fanout.protocol.Authentication;
import dev.fanout.protocol.Authenticator;
import dev.fanout.protocol.Handshake;
import org.springframework.security.oauth2.jwt.Jwt;
import org.springframework.security.oauth2.jwt.JwtDecoder;
import org.springframework.security.oauth2.jwt.JwtException;

/**
 * Tokens verified by the application's Spring Security {@link JwtDecoder} (its keys, issuer,
 * audience and validators), found and mapped by fanout-jwt: exactly one token from the Bearer
 * header or the cookie ({@link TokenSources}), its {@code sub} and scope claim to the
 * connection's principal and topics until its {@code exp} ({@link ScopeClaim}). A token the
 * decoder refuses is {@link JwtRefusal#INVALID_TOKEN}: the decoder's message, which may quote the
 * token's claims, goes nowhere.
 */
final class DecoderAuthenticator implements Authenticator {
  private final JwtDecoder decoder;
  private final TokenSources sources;
  private final ScopeClaim scopeClaim;

  DecoderAuthenticator(JwtDecoder decoder, TokenSources sources, ScopeClaim scopeClaim) {
    this.decoder = decoder;
    this.sources = sources;
    this.scopeClaim = scopeClaim;
  }

  @Override
  public Authentication authenticate(Handshake handshake) {
    TokenSources.Found found = sources.find(handshake);
    if (!found.found()) {
      return found.refusal().authentication();
    }
    Jwt jwt;
    try {
      jwt = decoder.decode(found.token());
    } catch (JwtException e) {
      return JwtRefusal.INVALID_TOKEN.authentication();
    }
    return scopeClaim.authentication(jwt.getClaims(), jwt.getExpiresAt());
  }

  @Override
  public String toString() {
    return "DecoderAuthenticator{" + decoder.getClass().getSimpleName() + ", " + scopeClaim
        + ", " + sources + "}";
  }
}
