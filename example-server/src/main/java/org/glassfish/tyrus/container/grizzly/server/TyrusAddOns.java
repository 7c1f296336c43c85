package org.glassfish.tyrus.container.grizzly.server;

import org.glassfish.grizzly.http.server.AddOn;
import org.glassfish.tyrus.spi.ServerContainer;

/**
 * Tyrus keeps the constructor of its Grizzly WebSocket add-on package-private; the example server
 * needs the add-on on an HttpServer of its own (to serve the page, /metrics and /health on the
 * same port as /ws), so this one accessor lives in Tyrus's package. Compile-checked against the
 * Tyrus version in the parent pom.
 */
public final class TyrusAddOns {
  private TyrusAddOns() {}

  public static AddOn webSocket(ServerContainer container, String contextPath) {
    return new WebSocketAddOn(container, contextPath);
  }
}
