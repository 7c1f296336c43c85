package dev.fanout.jakarta;

import dev.fanout.protocol.FanoutNode;
import dev.fanout.protocol.ServerFixture;
import jakarta.servlet.DispatcherType;
import java.net.URI;
import java.util.EnumSet;
import org.eclipse.jetty.ee10.servlet.FilterHolder;
import org.eclipse.jetty.ee10.servlet.FilterMapping;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.websocket.jakarta.server.config.JakartaWebSocketServletContainerInitializer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

/**
 * Embedded Jetty 12 (ee10) with {@link HandshakeFilter} in front of the endpoint, as
 * docs/embedding.md and the example server deploy it.
 */
final class FilteredJettyServer implements ServerFixture {
  private Server server;

  @Override
  public URI start(FanoutNode node) throws Exception {
    FanoutWebSocket ws = FanoutWebSocket.builder(node).build();
    server = new Server();
    ServerConnector connector = new ServerConnector(server);
    connector.setHost("127.0.0.1");
    connector.setPort(0);
    server.addConnector(connector);
    ServletContextHandler context = new ServletContextHandler("/");
    JakartaWebSocketServletContainerInitializer.configure(context,
        (servletContext, container) -> container.addEndpoint(ws.endpointConfig()));
    server.setHandler(context);
    server.start();
    // Jetty puts its own upgrade filter first when the context starts; ours must run before it.
    FilterHolder holder = new FilterHolder(new HandshakeFilter(node));
    FilterMapping mapping = new FilterMapping();
    mapping.setFilterName(holder.getName());
    mapping.setPathSpec(ws.endpointConfig().getPath());
    mapping.setDispatcherTypes(EnumSet.of(DispatcherType.REQUEST));
    context.getServletHandler().prependFilter(holder);
    context.getServletHandler().prependFilterMapping(mapping);
    return URI.create("ws://127.0.0.1:" + connector.getLocalPort() + ws.endpointConfig().getPath());
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
