package dev.fanout.jwt;

import dev.fanout.core.internal.Require;
import dev.fanout.protocol.Handshake;
import java.util.Objects;
import java.util.Optional;

/**
 * Where a handshake's token may travel, and the rule that finds the one token in it. Immutable:
 * every setting returns a new value.
 *
 * <ul>
 *   <li>{@code Authorization: Bearer <token>}: always, for servers and tools.
 *   <li>A cookie, {@value #DEFAULT_COOKIE} unless renamed, for browser pages (a page cannot set
 *       a header on a WebSocket). Set it {@code HttpOnly; Secure; SameSite=Strict} (see {@link
 *       Jwts#setCookie}), and keep the node's Origin allow-list.
 *   <li>A query parameter, only when {@link #queryParameter(String) enabled}: a URL ends up in
 *       access logs, proxies and browser history. While it is not enabled, a handshake that
 *       carries {@code ?token=} or {@code ?access_token=} is refused ({@link
 *       JwtRefusal#TOKEN_IN_URL}) rather than quietly ignored, so a client learns to stop.
 * </ul>
 *
 * <p>No source wins over another: exactly one token must be present. Two of them (a header and
 * a cookie, two {@code Authorization: Bearer} headers, two cookies of the name, a header that a
 * container joined into {@code "Bearer a, Bearer b"}) are refused as {@link
 * JwtRefusal#AMBIGUOUS_TOKEN}, even when equal: a client that sends two has a bug worth seeing.
 * An empty value (a cleared cookie, {@code Bearer} alone) counts as absent. A token longer than
 * {@link #maxTokenBytes()} is refused before any parsing.
 */
public final class TokenSources {
  /** The cookie read unless another is named. */
  public static final String DEFAULT_COOKIE = "fanout_token";
  /** The longest token accepted unless configured: 8 KiB, as the usual request-header limit. */
  public static final int DEFAULT_MAX_TOKEN_BYTES = 8 * 1024;
  /** The most {@link #maxTokenBytes(int)} accepts. */
  public static final int MAX_TOKEN_BYTES_LIMIT = 64 * 1024;
  /** Query parameters refused while the query source is off: fanout's old one, RFC 6750's. */
  private static final String[] URL_TOKEN_NAMES = {"token", "access_token"};
  private static final String BEARER = "Bearer";

  private final String cookie; // null: off
  private final String queryParameter; // null: off
  private final int maxTokenBytes;

  private TokenSources(String cookie, String queryParameter, int maxTokenBytes) {
    this.cookie = cookie;
    this.queryParameter = queryParameter;
    this.maxTokenBytes = maxTokenBytes;
  }

  /** The default: the Bearer header and the {@value #DEFAULT_COOKIE} cookie. */
  public static TokenSources defaults() {
    return new TokenSources(DEFAULT_COOKIE, null, DEFAULT_MAX_TOKEN_BYTES);
  }

  /** The Bearer header only: for servers whose clients are all tools or services. */
  public static TokenSources bearerOnly() {
    return new TokenSources(null, null, DEFAULT_MAX_TOKEN_BYTES);
  }

  /** Also reads the cookie called {@code name} (instead of any other cookie). */
  public TokenSources cookie(String name) {
    return new TokenSources(requireToken(name, "cookie name"), queryParameter, maxTokenBytes);
  }

  /** Stops reading any cookie. */
  public TokenSources noCookie() {
    return new TokenSources(null, queryParameter, maxTokenBytes);
  }

  /**
   * Also reads the query parameter {@code name}: only for clients that can do nothing else. The
   * token then sits in every access log and proxy on the way; fanout itself never logs it.
   */
  public TokenSources queryParameter(String name) {
    return new TokenSources(cookie, requireToken(name, "query parameter name"), maxTokenBytes);
  }

  /** Refuses tokens longer than {@code bytes} (1 to {@value #MAX_TOKEN_BYTES_LIMIT}). */
  public TokenSources maxTokenBytes(int bytes) {
    Require.argument(bytes >= 1 && bytes <= MAX_TOKEN_BYTES_LIMIT,
        "the token size limit must be 1 to %d bytes, got %d", MAX_TOKEN_BYTES_LIMIT, bytes);
    return new TokenSources(cookie, queryParameter, bytes);
  }

  /** The cookie read, if any. */
  public Optional<String> cookieName() {
    return Optional.ofNullable(cookie);
  }

  /** The query parameter read, if enabled. */
  public Optional<String> queryParameterName() {
    return Optional.ofNullable(queryParameter);
  }

  /** The longest token accepted, in bytes (a JWT is ASCII: one byte a character). */
  public int maxTokenBytes() {
    return maxTokenBytes;
  }

  /**
   * The one token in {@code handshake}, or why there is none to check. Never parses the token.
   */
  public Found find(Handshake handshake) {
    Objects.requireNonNull(handshake, "handshake");
    Candidates c = new Candidates();
    for (String value : handshake.headers("Authorization")) {
      bearer(value, c);
    }
    if (cookie != null) {
      for (String header : handshake.headers("Cookie")) {
        cookies(header, c);
      }
    }
    if (queryParameter != null) {
      for (String value : handshake.parameters(queryParameter)) {
        c.add(value);
      }
    } else {
      for (String name : URL_TOKEN_NAMES) {
        for (String value : handshake.parameters(name)) {
          if (!value.isEmpty()) {
            return Found.refused(JwtRefusal.TOKEN_IN_URL);
          }
        }
      }
    }
    if (c.tooLarge) {
      return Found.refused(JwtRefusal.TOKEN_TOO_LARGE);
    }
    if (c.count > 1) {
      return Found.refused(JwtRefusal.AMBIGUOUS_TOKEN);
    }
    return c.count == 0 ? Found.refused(JwtRefusal.TOKEN_MISSING) : Found.token(c.token);
  }

  /** {@code Bearer <token>} (scheme matched case-insensitively); other schemes are not ours. */
  private void bearer(String value, Candidates c) {
    String v = value.strip();
    if (!v.regionMatches(true, 0, BEARER, 0, BEARER.length())
        || (v.length() > BEARER.length() && v.charAt(BEARER.length()) != ' ')) {
      return;
    }
    String token = v.substring(BEARER.length()).strip();
    if (token.indexOf(',') >= 0) { // two Authorization headers joined by a container
      c.count += 2;
      return;
    }
    c.add(token);
  }

  /** The named cookie's values in one {@code Cookie} header (RFC 6265 5.4: "a=1; b=2"). */
  private void cookies(String header, Candidates c) {
    int at = 0;
    while (at <= header.length()) {
      int end = header.indexOf(';', at);
      if (end < 0) {
        end = header.length();
      }
      int eq = header.indexOf('=', at);
      if (eq > at && eq < end && header.substring(at, eq).strip().equals(cookie)) {
        String value = header.substring(eq + 1, end).strip();
        if (value.length() >= 2 && value.startsWith("\"") && value.endsWith("\"")) {
          value = value.substring(1, value.length() - 1);
        }
        c.add(value);
      }
      at = end + 1;
    }
  }

  private final class Candidates {
    int count;
    boolean tooLarge;
    String token;

    void add(String value) {
      if (value.isEmpty()) {
        return;
      }
      count++;
      tooLarge |= value.length() > maxTokenBytes;
      token = value;
    }
  }

  private static String requireToken(String name, String what) {
    Objects.requireNonNull(name, what);
    Require.argument(!name.isEmpty() && name.chars().allMatch(TokenSources::tchar),
        "the %s must be a non-empty HTTP token (letters, digits, !#$%%&'*+-.^_`|~), got '%s'",
        what, name);
    return name;
  }

  private static boolean tchar(int ch) {
    return ch >= '0' && ch <= '9' || ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z'
        || "!#$%&'*+-.^_`|~".indexOf(ch) >= 0;
  }

  @Override
  public String toString() {
    return "TokenSources{bearer" + (cookie == null ? "" : ", cookie " + cookie)
        + (queryParameter == null ? "" : ", query " + queryParameter) + ", max "
        + maxTokenBytes + " bytes}";
  }

  /**
   * What {@link #find} found: a token, or the refusal to answer with. Exactly one of {@link
   * #token()} and {@link #refusal()} is non-null.
   */
  public static final class Found {
    private final String token;
    private final JwtRefusal refusal;

    private Found(String token, JwtRefusal refusal) {
      this.token = token;
      this.refusal = refusal;
    }

    static Found token(String token) {
      return new Found(token, null);
    }

    static Found refused(JwtRefusal refusal) {
      return new Found(null, refusal);
    }

    /** Whether there is exactly one token to check. */
    public boolean found() {
      return token != null;
    }

    /** The token, or null. */
    public String token() {
      return token;
    }

    /** Why there is no token to check, or null. */
    public JwtRefusal refusal() {
      return refusal;
    }

    /** Never shows the token. */
    @Override
    public String toString() {
      return token != null ? "Found{token}" : "Found{" + refusal + "}";
    }
  }
}
