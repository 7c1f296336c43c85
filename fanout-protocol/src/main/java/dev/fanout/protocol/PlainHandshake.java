package dev.fanout.protocol;

import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.Principal;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/** {@link Handshake#of}: a handshake from plain values. */
final class PlainHandshake implements Handshake {
  private final URI uri;
  private final Map<String, List<String>> headers = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
  private final Map<String, List<String>> parameters = new LinkedHashMap<>();
  private final Principal userPrincipal;
  private final InetSocketAddress remoteAddress;

  PlainHandshake(URI uri, Map<String, List<String>> headers, Principal userPrincipal,
      InetSocketAddress remoteAddress) {
    this.uri = Objects.requireNonNull(uri, "uri");
    headers.forEach((k, v) -> this.headers.merge(k, List.copyOf(v), PlainHandshake::concat));
    this.userPrincipal = userPrincipal;
    this.remoteAddress = remoteAddress;
    String query = uri.getRawQuery();
    if (query != null) {
      for (String pair : query.split("&")) {
        if (pair.isEmpty()) {
          continue;
        }
        int eq = pair.indexOf('=');
        String name = decode(eq < 0 ? pair : pair.substring(0, eq));
        String value = eq < 0 ? "" : decode(pair.substring(eq + 1));
        parameters.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
      }
    }
  }

  private static List<String> concat(List<String> a, List<String> b) {
    List<String> both = new ArrayList<>(a);
    both.addAll(b);
    return List.copyOf(both);
  }

  private static String decode(String s) {
    try {
      return URLDecoder.decode(s, StandardCharsets.UTF_8);
    } catch (IllegalArgumentException malformed) { // a stray '%': keep it as sent
      return s;
    }
  }

  @Override
  public URI uri() {
    return uri;
  }

  @Override
  public List<String> headers(String name) {
    return headers.getOrDefault(name, List.of());
  }

  @Override
  public List<String> parameters(String name) {
    return List.copyOf(parameters.getOrDefault(name, List.of()));
  }

  @Override
  public Principal userPrincipal() {
    return userPrincipal;
  }

  @Override
  public InetSocketAddress remoteAddress() {
    return remoteAddress;
  }

  @Override
  public String toString() {
    return "Handshake{" + uri.getRawPath() + "}";
  }
}
