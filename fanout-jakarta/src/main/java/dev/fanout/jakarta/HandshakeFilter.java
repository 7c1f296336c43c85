package dev.fanout.jakarta;

import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import dev.fanout.protocol.Authentication;
import dev.fanout.protocol.Authenticator;
import dev.fanout.protocol.FanoutNode;
import dev.fanout.protocol.Handshake;
import dev.fanout.protocol.HttpEdge;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A servlet filter in front of the fanout endpoint that answers a refused handshake before the
 * container's upgrade, with its exact status and a one-line plain-text body: 401 or 403 from the
 * {@link Authenticator} or the Origin allow-list (two Origin headers included), 503 while
 * shutting down or at the connection cap, 426 (with {@code Sec-WebSocket-Version: 13}) for
 * another WebSocket version, and 400 for what the container would upgrade though it should not
 * (the same as the Netty transport): an HTTP/1.0 request, a {@code Sec-WebSocket-Key} that is not
 * 16 bytes in base64, or two of them, and a path that is ambiguous before normalisation ({@code
 * /x/../ws}, see {@link HttpEdge}). The Jakarta WebSocket API cannot choose the status of a
 * refused handshake: without this filter containers answer 500 (with a stack trace in their log)
 * or drop the connection.
 *
 * <p>Map it to the endpoint's path, for example on Jetty:
 *
 * <pre>{@code
 * context.addFilter(new FilterHolder(new HandshakeFilter(node)), "/ws",
 *     EnumSet.of(DispatcherType.REQUEST));
 * }</pre>
 *
 * <p>Refusals are counted, and logged at most once every few seconds, by the node, so a flood
 * of bad handshakes costs little log. The endpoint still checks every handshake again, so the
 * filter is an addition, never a replacement.
 */
public final class HandshakeFilter implements Filter {
  private final FanoutNode node;

  public HandshakeFilter(FanoutNode node) {
    this.node = node;
  }

  @Override
  public void doFilter(ServletRequest req, ServletResponse res, FilterChain chain)
      throws IOException, ServletException {
    HttpServletRequest request = (HttpServletRequest) req;
    HttpServletResponse response = (HttpServletResponse) res;
    if (!"websocket".equalsIgnoreCase(request.getHeader("Upgrade"))) {
      chain.doFilter(req, res);
      return;
    }
    // The container has mapped a normalised path here; its raw form may say otherwise.
    if (HttpEdge.isAmbiguousPath(request.getRequestURI())) {
      refuse(response, 400, "malformed or ambiguous request target");
      return;
    }
    if (!"HTTP/1.1".equals(request.getProtocol())) { // RFC 6455 4.1
      refuse(response, 400, "a WebSocket upgrade needs HTTP/1.1");
      return;
    }
    String version = request.getHeader("Sec-WebSocket-Version");
    if (!"13".equals(version)) { // RFC 6455 4.4: say which version this server speaks
      response.setHeader("Sec-WebSocket-Version", "13");
      node.refused(426, "WebSocket version 13 required");
      refuse(response, 426, "WebSocket version 13 required");
      return;
    }
    List<String> keys = Collections.list(request.getHeaders("Sec-WebSocket-Key"));
    if (keys.size() != 1 || !HttpEdge.isWebSocketKey(keys.get(0))) { // RFC 6455 4.2.1
      refuse(response, 400, "a WebSocket upgrade needs one Sec-WebSocket-Key: 16 bytes in base64");
      return;
    }
    Handshake handshake;
    try {
      handshake = handshake(request);
    } catch (IllegalArgumentException e) { // the container passed on what no URI can hold
      refuse(response, 400, "malformed request target");
      return;
    }
    Authentication auth = node.check(handshake);
    if (!auth.allowed()) {
      refuse(response, auth.status(), auth.reason());
      return;
    }
    chain.doFilter(req, res);
  }

  /**
   * What an {@link Authenticator} sees of an HTTP request: its URI, headers, query parameters,
   * authenticated user and peer. For a page that asks the server who its token is before it
   * connects, and for this filter.
   *
   * @throws IllegalArgumentException when the request target is no URI (a malformed escape such
   *     as {@code ?topics=%zz}, which some containers pass on): answer it 400
   */
  public static Handshake handshake(HttpServletRequest request) {
    Map<String, List<String>> headers = new LinkedHashMap<>();
    for (String name : Collections.list(request.getHeaderNames())) {
      headers.put(name, Collections.list(request.getHeaders(name)));
    }
    String query = request.getQueryString();
    URI uri = URI.create(request.getRequestURI() + (query == null ? "" : "?" + query));
    return Handshake.of(uri, headers, request.getUserPrincipal(),
        new InetSocketAddress(request.getRemoteAddr(), request.getRemotePort()));
  }

  private void refuse(HttpServletResponse response, int status, String reason)
      throws IOException {
    byte[] body = (reason + "\n").getBytes(StandardCharsets.UTF_8);
    response.setStatus(status);
    response.setContentType("text/plain;charset=utf-8");
    response.setContentLength(body.length);
    response.getOutputStream().write(body);
  }
}
