package dev.fanout.example;

import com.google.gson.JsonPrimitive;
import dev.fanout.jwt.JwtAuthenticator;
import dev.fanout.jwt.Jwts;
import dev.fanout.jwt.TokenSources;
import dev.fanout.protocol.Authentication;
import dev.fanout.protocol.Authenticator;
import dev.fanout.protocol.Handshake;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * {@code /session}: how the page gets its token the way docs/jwt.md recommends, in the {@code
 * HttpOnly} cookie {@value TokenSources#DEFAULT_COOKIE} that its WebSocket handshake then carries.
 *
 * <ul>
 *   <li>{@code POST} with {@code Authorization: Bearer <jwt>}: checks the token as a handshake
 *       would and answers {@code Set-Cookie} ({@code HttpOnly; SameSite=Strict; Path=/}, {@code
 *       Max-Age} the token's remaining life, {@code Secure} when the page is on https).
 *   <li>{@code GET}: who the request's token (cookie or header) is, for the page to offer only
 *       its merchants and to say why it cannot connect (a browser sees a refused handshake only
 *       as 1006).
 *   <li>{@code DELETE}: clears the cookie (signing out).
 * </ul>
 *
 * <p>A token never travels in a URL here, and no answer holds one but the {@code Set-Cookie}
 * that hands it over. POST and DELETE from another site's page are refused twice over: a browser
 * asks first (a preflight, which gets 405) before it sends them with a header or another method,
 * and an {@code Origin} the node would refuse gets 403.
 */
final class Sessions {
  private static final Map<String, String> NO_STORE = Map.of("Cache-Control", "no-store");

  private final Authenticator auth;
  private final JwtAuthenticator jwt; // null: authentication is off
  private final List<String> origins; // lower case; "*": any
  private final Clock clock;

  /**
   * @param auth the node's authenticator (with {@code jwt} or without authentication)
   * @param jwt the JWT authenticator, or null when authentication is off
   * @param origins the origins the node allows (its page's own and --allowed-origins)
   */
  Sessions(Authenticator auth, JwtAuthenticator jwt, List<String> origins, Clock clock) {
    this.auth = auth;
    this.jwt = jwt;
    this.origins = origins.stream().map(o -> o.toLowerCase(Locale.ROOT)).toList();
    this.clock = clock;
  }

  /** GET: {"principal":..,"merchants":[..] or "*","expiresAt":ms or null}, or why not. */
  Web.Answer who(Handshake request) {
    Authentication a;
    try {
      a = auth.authenticate(request);
    } catch (RuntimeException e) {
      a = Authentication.unauthorized("authentication failed");
    }
    return a.allowed() ? new Web.Answer(200, describe(a), NO_STORE) : refusal(a);
  }

  /** POST: the Bearer token, once checked, in the cookie. */
  Web.Answer signIn(Handshake request) {
    if (!originAllowed(request)) {
      return error(403, "origin not allowed");
    }
    if (jwt == null) {
      return error(404, "authentication is off: no token needed");
    }
    TokenSources.Found found = TokenSources.bearerOnly().find(request);
    if (!found.found()) {
      return refusal(found.refusal().authentication());
    }
    Authentication a = jwt.verify(found.token());
    if (!a.allowed()) {
      return refusal(a);
    }
    // the token's own life (the authenticator allows it until exp plus the clock skew)
    Duration life = Duration.between(clock.instant(), a.expiresAt().minus(jwt.clockSkew()));
    String cookie = Jwts.setCookie(TokenSources.DEFAULT_COOKIE, found.token(),
        life.isNegative() ? Duration.ZERO : life, secure(request));
    return new Web.Answer(200, describe(a), Map.of("Set-Cookie", cookie,
        "Cache-Control", "no-store"));
  }

  /** DELETE: the cookie cleared. Signed in or not, the answer is the same. */
  Web.Answer signOut(Handshake request) {
    if (!originAllowed(request)) {
      return error(403, "origin not allowed");
    }
    String cleared = TokenSources.DEFAULT_COOKIE + "=; Path=/; Max-Age=0; HttpOnly"
        + (secure(request) ? "; Secure" : "") + "; SameSite=Strict";
    return new Web.Answer(200, "{\"signedOut\":true}", Map.of("Set-Cookie", cleared,
        "Cache-Control", "no-store"));
  }

  /**
   * Whether the page was reached over https: the request's scheme, a TLS proxy's {@code
   * X-Forwarded-Proto: https}, or an https page's {@code Origin}. A client that claims so falsely
   * only makes its own cookie stricter.
   */
  private static boolean secure(Handshake request) {
    String proto = request.header("X-Forwarded-Proto");
    String origin = request.header("Origin");
    return "https".equalsIgnoreCase(request.uri().getScheme())
        || proto != null && proto.strip().equalsIgnoreCase("https")
        || origin != null && origin.regionMatches(true, 0, "https://", 0, 8);
  }

  /** No Origin (a tool), or one the node allows; a browser sends one with every POST. */
  private boolean originAllowed(Handshake request) {
    List<String> sent = request.headers("Origin");
    if (sent.isEmpty()) {
      return true;
    }
    return sent.size() == 1 && (origins.contains("*")
        || origins.contains(sent.get(0).strip().toLowerCase(Locale.ROOT)));
  }

  private static String describe(Authentication a) {
    String merchants = a.scope().isAll() ? "\"*\"" : a.scope().topics().stream().sorted()
        .map(Sessions::jsonString).collect(Collectors.joining(",", "[", "]"));
    Instant expires = a.expiresAt();
    return "{\"principal\":" + jsonString(a.principal()) + ",\"merchants\":" + merchants
        + ",\"expiresAt\":" + (expires == null ? "null" : expires.toEpochMilli()) + "}";
  }

  private static Web.Answer refusal(Authentication a) {
    return error(a.status(), a.reason());
  }

  private static Web.Answer error(int status, String reason) {
    return new Web.Answer(status, "{\"error\":" + jsonString(reason) + "}", NO_STORE);
  }

  private static String jsonString(String s) {
    return new JsonPrimitive(s).toString();
  }
}
