package dev.fanout.protocol;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The Origin allow-list. Origins are compared exactly after normalization (RFC 6454: scheme and
 * host are case-insensitive, so both are lower-cased; a default port is dropped), so {@code
 * https://good.example.evil.example} never passes for {@code https://good.example}, and the literal
 * {@code null} origin of sandboxed pages passes only under {@code *}. A request with two Origin
 * headers is refused whatever they say: which one a proxy or a container would read is anyone's
 * guess, and a browser never sends two.
 */
final class OriginPolicy {
  private final Set<String> allowed;
  private final boolean any;
  private final boolean allowMissing;

  OriginPolicy(Collection<String> origins, boolean allowMissing) {
    this.allowMissing = allowMissing;
    this.any = origins.contains("*");
    this.allowed = new HashSet<>();
    for (String o : origins) {
      if (!o.equals("*")) {
        allowed.add(normalize(o));
      }
    }
  }

  /** Whether a handshake with these Origin header values (none, one, or more) may proceed. */
  boolean allowsHeaders(List<String> origins) {
    return origins.size() <= 1 && allows(origins.isEmpty() ? null : origins.get(0));
  }

  boolean allows(String origin) {
    if (origin == null || origin.isEmpty()) {
      return allowMissing;
    }
    if (any) {
      return true;
    }
    String n = normalize(origin);
    return n != null && allowed.contains(n);
  }

  /** Checks configured origins eagerly, with a message that says what is wrong. */
  static Collection<String> validate(Collection<String> origins) {
    for (String o : origins) {
      if (o == null || (!o.equals("*") && normalize(o) == null)) {
        throw new IllegalArgumentException("allowed origin must be * or scheme://host[:port] "
            + "with no path, got '" + o + "'");
      }
    }
    return origins;
  }

  /** scheme://host[:port] in canonical form, or null if {@code origin} is not such a thing. */
  static String normalize(String origin) {
    if (origin.length() > 2048) {
      return null;
    }
    URI uri;
    try {
      uri = new URI(origin.trim());
    } catch (URISyntaxException e) {
      return null;
    }
    String scheme = uri.getScheme();
    String host = uri.getHost();
    if (scheme == null || host == null || uri.getRawUserInfo() != null
        || (uri.getRawPath() != null && !uri.getRawPath().isEmpty())
        || uri.getRawQuery() != null || uri.getRawFragment() != null) {
      return null;
    }
    scheme = scheme.toLowerCase(Locale.ROOT);
    host = host.toLowerCase(Locale.ROOT);
    int port = uri.getPort();
    boolean defaultPort = port == -1
        || (port == 80 && (scheme.equals("http") || scheme.equals("ws")))
        || (port == 443 && (scheme.equals("https") || scheme.equals("wss")));
    return scheme + "://" + host + (defaultPort ? "" : ":" + port);
  }
}
