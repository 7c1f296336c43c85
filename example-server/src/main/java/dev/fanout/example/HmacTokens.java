package dev.fanout.example;

import dev.fanout.core.Scope;
import dev.fanout.protocol.Authentication;
import dev.fanout.protocol.Authenticator;
import dev.fanout.protocol.Handshake;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Objects;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * HMAC-SHA256 signed tokens mapping a principal to the merchants it may see, and the
 * {@link Authenticator} that checks them. A token is {@code base64url(payload).base64url(mac)} with
 * payload {@code v1|<principal>|<merchants, comma-separated, or *>|<expiry, epoch seconds>}.
 * Browsers pass it as {@code ?token=} (a WebSocket from a page cannot set headers); other clients
 * may use {@code Authorization: Bearer <token>}. A request carries one token: two {@code ?token=}
 * parameters, two Bearer headers, or one of each are refused (401 "more than one token").
 */
final class HmacTokens implements Authenticator {
  private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();
  private static final Base64.Decoder B64D = Base64.getUrlDecoder();

  private final byte[] secret;
  private final Clock clock;

  HmacTokens(String secret, Clock clock) {
    Objects.requireNonNull(secret, "secret");
    if (secret.length() < 16) {
      throw new IllegalArgumentException("the token secret must be at least 16 characters");
    }
    this.secret = secret.getBytes(StandardCharsets.UTF_8);
    this.clock = clock;
  }

  /** Mints a token for {@code principal} seeing {@code merchants} (empty = all) for {@code ttl}. */
  String mint(String principal, List<String> merchants, Duration ttl) {
    if (principal.isEmpty() || principal.contains("|")) {
      throw new IllegalArgumentException("the principal must be 1 or more characters without '|'");
    }
    for (String m : merchants) {
      if (m.isBlank() || m.contains("|") || m.contains(",")) {
        throw new IllegalArgumentException("merchants must be 1 or more characters without '|' "
            + "or ',', got '" + m + "'; leave --merchants out for every merchant");
      }
    }
    Scope.of(merchants); // the server's own check of each topic, so it can parse what we sign
    long expiry = clock.instant().plus(ttl).getEpochSecond();
    String payload = "v1|" + principal + "|" + (merchants.isEmpty() ? "*"
        : String.join(",", merchants)) + "|" + expiry;
    byte[] p = payload.getBytes(StandardCharsets.UTF_8);
    return B64.encodeToString(p) + "." + B64.encodeToString(mac(p));
  }

  @Override
  public Authentication authenticate(Handshake request) {
    List<String> tokens = tokens(request);
    if (tokens.isEmpty()) {
      return Authentication.unauthorized("token missing");
    }
    if (tokens.size() > 1) {
      return Authentication.unauthorized("more than one token");
    }
    return verify(tokens.get(0));
  }

  Authentication verify(String token) {
    int dot = token.indexOf('.');
    if (dot < 0 || token.length() > 4096) {
      return Authentication.unauthorized("malformed token");
    }
    byte[] payload;
    byte[] signature;
    try {
      payload = B64D.decode(token.substring(0, dot));
      signature = B64D.decode(token.substring(dot + 1));
    } catch (IllegalArgumentException e) {
      return Authentication.unauthorized("malformed token");
    }
    if (!MessageDigest.isEqual(mac(payload), signature)) {
      return Authentication.unauthorized("invalid token signature");
    }
    String[] parts = new String(payload, StandardCharsets.UTF_8).split("\\|", -1);
    if (parts.length != 4 || !parts[0].equals("v1")) {
      return Authentication.unauthorized("malformed token");
    }
    long expiry;
    try {
      expiry = Long.parseLong(parts[3]);
    } catch (NumberFormatException e) {
      return Authentication.unauthorized("malformed token");
    }
    if (clock.instant().getEpochSecond() >= expiry) {
      return Authentication.unauthorized("token expired");
    }
    Scope scope;
    try {
      scope = parts[2].equals("*") ? Scope.all() : Scope.of(Arrays.asList(parts[2].split(",")));
    } catch (IllegalArgumentException e) { // signed, but minted by a tool that did not check
      return Authentication.unauthorized("malformed token");
    }
    return Authentication.allowUntil(parts[1], scope, Instant.ofEpochSecond(expiry));
  }

  /**
   * Every token the request carries: each {@code token} query parameter and each {@code
   * Authorization: Bearer} header (other schemes are not ours). One is expected; with more, which
   * one a proxy, a log or this server would read is a guess, so none is.
   */
  private static List<String> tokens(Handshake request) {
    List<String> tokens = new ArrayList<>(request.parameters("token"));
    for (String v : request.headers("Authorization")) {
      if (v.regionMatches(true, 0, "Bearer ", 0, 7)) {
        tokens.add(v.substring(7).trim());
      }
    }
    return tokens;
  }

  private byte[] mac(byte[] payload) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret, "HmacSHA256"));
      return mac.doFinal(payload);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is not available", e);
    }
  }
}
