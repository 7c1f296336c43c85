package dev.fanout.jakarta;

import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.net.URI;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A servlet filter in front of the fanout endpoint that refuses handshakes with their exact
 * status (401, 403, 503) before the container's upgrade. docs/embedding.md shows this class.
 */
public final class HandshakeFilter implements Filter {
  private final FanoutWebSocket ws;

  public HandshakeFilter(FanoutWebSocket ws) {
    this.ws = ws;
  }

  @Override
  public void doFilter(ServletRequest req, ServletResponse res, FilterChain chain)
      throws IOException, ServletException {
    HttpServletRequest request = (HttpServletRequest) req;
    if (!"websocket".equalsIgnoreCase(request.getHeader("Upgrade"))) {
      chain.doFilter(req, res);
      return;
    }
    Map<String, List<String>> headers = new LinkedHashMap<>();
    for (String name : Collections.list(request.getHeaderNames())) {
      headers.put(name, Collections.list(request.getHeaders(name)));
    }
    Map<String, List<String>> params = new LinkedHashMap<>();
    request.getParameterMap().forEach((k, v) -> params.put(k, List.of(v)));
    Authentication auth = ws.precheck(request.getHeader("Origin"),
        FanoutWebSocket.handshakeRequest(URI.create(request.getRequestURI()), headers, params));
    if (!auth.allowed()) {
      ((HttpServletResponse) res).sendError(auth.status(), auth.reason());
      return;
    }
    chain.doFilter(req, res);
  }
}
