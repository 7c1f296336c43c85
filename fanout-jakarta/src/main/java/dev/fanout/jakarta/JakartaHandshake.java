package dev.fanout.jakarta;

import dev.fanout.protocol.Handshake;
import jakarta.websocket.server.HandshakeRequest;
import java.net.InetSocketAddress;
import java.net.URI;
import java.security.Principal;
import java.util.List;
import java.util.Map;

/** A Jakarta {@link HandshakeRequest} as the transport-neutral {@link Handshake}. */
final class JakartaHandshake implements Handshake {
  private final HandshakeRequest request;

  JakartaHandshake(HandshakeRequest request) {
    this.request = request;
  }

  @Override
  public URI uri() {
    return request.getRequestURI();
  }

  @Override
  public List<String> headers(String name) {
    for (Map.Entry<String, List<String>> e : request.getHeaders().entrySet()) {
      if (e.getKey().equalsIgnoreCase(name)) {
        return e.getValue() == null ? List.of() : e.getValue();
      }
    }
    return List.of();
  }

  @Override
  public List<String> parameters(String name) {
    List<String> values = request.getParameterMap().get(name);
    return values == null ? List.of() : values;
  }

  @Override
  public Principal userPrincipal() {
    return request.getUserPrincipal();
  }

  /** The Jakarta API does not give the peer's address at handshake time. */
  @Override
  public InetSocketAddress remoteAddress() {
    return null;
  }
}
