package dev.fanout.jakarta;

import jakarta.websocket.server.HandshakeRequest;
import java.net.URI;
import java.security.Principal;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** A {@link HandshakeRequest} from plain values, for prechecks outside the container. */
final class PlainHandshakeRequest implements HandshakeRequest {
  private final URI uri;
  private final Map<String, List<String>> headers;
  private final Map<String, List<String>> parameters;

  PlainHandshakeRequest(URI uri, Map<String, List<String>> headers,
      Map<String, List<String>> parameters) {
    this.uri = uri;
    Map<String, List<String>> h = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
    headers.forEach((k, v) -> h.put(k, List.copyOf(v)));
    this.headers = h;
    this.parameters = Map.copyOf(parameters);
  }

  @Override
  public Map<String, List<String>> getHeaders() {
    return headers;
  }

  @Override
  public Principal getUserPrincipal() {
    return null;
  }

  @Override
  public URI getRequestURI() {
    return uri;
  }

  @Override
  public boolean isUserInRole(String role) {
    return false;
  }

  @Override
  public Object getHttpSession() {
    return null;
  }

  @Override
  public Map<String, List<String>> getParameterMap() {
    return parameters;
  }

  @Override
  public String getQueryString() {
    return uri == null ? null : uri.getRawQuery();
  }
}
