package dev.fanout.protocol;

import java.util.Base64;
import java.util.Locale;

/**
 * HTTP rules every transport applies at its edge, before the protocol's own handshake checks, so
 * that Netty and a servlet container refuse the same requests: a request path whose meaning
 * depends on who normalises it, and a {@code Sec-WebSocket-Key} that is not what RFC 6455 asks
 * for. Both are answered 400 and never upgraded.
 */
public final class HttpEdge {
  private HttpEdge() {}

  /**
   * Whether {@code value} is a valid {@code Sec-WebSocket-Key}: the base64 encoding of 16 bytes
   * (RFC 6455 4.2.1), that is 24 characters of the basic alphabet ending in {@code ==}.
   */
  public static boolean isWebSocketKey(String value) {
    if (value == null || value.length() != 24 || !value.endsWith("==")) {
      return false;
    }
    try {
      return Base64.getDecoder().decode(value).length == 16;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  /**
   * Whether a raw (still percent-encoded) request path is ambiguous, so that a proxy, a router
   * and the server could each read it as another resource: anything but an absolute path, a dot
   * segment ({@code /a/../b}, {@code /./a}, also percent-encoded), an empty segment ({@code //a},
   * {@code /a//b}; a trailing {@code /} is fine), an encoded separator ({@code %2F}, {@code %5C}),
   * a backslash, an encoded {@code %} or an encoded NUL. Such paths are refused with 400 rather
   * than normalised: browsers normalise before they send, so only hand-made requests carry them.
   */
  public static boolean isAmbiguousPath(String rawPath) {
    if (rawPath == null || !rawPath.startsWith("/") || rawPath.indexOf('\\') >= 0) {
      return true;
    }
    String lower = rawPath.toLowerCase(Locale.ROOT);
    if (lower.contains("%2f") || lower.contains("%5c") || lower.contains("%25")
        || lower.contains("%00")) {
      return true;
    }
    String[] segments = lower.substring(1).split("/", -1);
    for (int i = 0; i < segments.length; i++) {
      String s = segments[i].replace("%2e", ".");
      if ((s.isEmpty() && i < segments.length - 1) || s.equals(".") || s.equals("..")) {
        return true;
      }
    }
    return false;
  }
}
