package dev.fanout.jakarta;

import jakarta.websocket.server.ServerEndpointConfig;
import java.net.URI;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.websocket.jakarta.server.config.JakartaWebSocketServletContainerInitializer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

/** Embedded Jetty 12 with its ee10 Jakarta WebSocket implementation. */
final class JettyFixture implements ContainerFixture {
  private Server server;

  @Override
  public URI start(ServerEndpointConfig config) throws Exception {
    server = new Server();
    ServerConnector connector = new ServerConnector(server);
    connector.setHost("127.0.0.1");
    connector.setPort(0);
    server.addConnector(connector);
    ServletContextHandler context = new ServletContextHandler("/");
    JakartaWebSocketServletContainerInitializer.configure(context,
        (servletContext, container) -> container.addEndpoint(config));
    server.setHandler(context);
    server.start();
    return URI.create("ws://127.0.0.1:" + connector.getLocalPort() + config.getPath());
  }

  @Override
  public void close() {
    try {
      if (server != null) {
        server.stop();
      }
    } catch (Exception e) {
      throw new IllegalStateException("stopping Jetty failed", e);
    }
  }
}
