package dev.fanout.protocol;

import java.net.InetSocketAddress;
import java.net.URI;
import java.security.Principal;
import java.util.List;
import java.util.Map;

/**
 * What an {@link Authenticator} sees of a WebSocket handshake, whatever the transport: the
 * request URI, its headers and query parameters, the user the container or a security framework
 * already authenticated, and the peer's address. Transport adapters build one per handshake;
 * {@link #of} builds one from plain values.
 */
public interface Handshake {

  /** The request URI as the client sent it: path and raw query. */
  URI uri();

  /** Every value of a header, matched case-insensitively; empty when absent. */
  List<String> headers(String name);

  /** Every value of a query parameter, decoded; empty when absent. */
  List<String> parameters(String name);

  /** The user the container (or Spring Security, a servlet filter...) authenticated, or null. */
  Principal userPrincipal();

  /** The peer's address where the transport knows it, or null. */
  InetSocketAddress remoteAddress();

  /** The first value of a header, or null. */
  default String header(String name) {
    List<String> values = headers(name);
    return values.isEmpty() ? null : values.get(0);
  }

  /** The first value of a query parameter, or null. */
  default String parameter(String name) {
    List<String> values = parameters(name);
    return values.isEmpty() ? null : values.get(0);
  }

  /**
   * A handshake from plain values; query parameters are decoded from {@code uri}'s raw query.
   *
   * @param headers header name to values; names are matched case-insensitively
   * @param userPrincipal may be null
   * @param remoteAddress may be null
   */
  static Handshake of(URI uri, Map<String, List<String>> headers, Principal userPrincipal,
      InetSocketAddress remoteAddress) {
    return new PlainHandshake(uri, headers, userPrincipal, remoteAddress);
  }
}
