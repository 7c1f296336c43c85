package dev.fanout.jakarta.sample;

import dev.fanout.core.EventId;
import dev.fanout.core.InMemoryStream;
import dev.fanout.jakarta.FanoutWebSocket;
import dev.fanout.jakarta.HandshakeFilter;
import dev.fanout.protocol.Authenticator;
import dev.fanout.protocol.FanoutNode;
import jakarta.servlet.DispatcherType;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Map;
import org.eclipse.jetty.ee10.servlet.FilterHolder;
import org.eclipse.jetty.ee10.servlet.FilterMapping;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.websocket.jakarta.server.config.JakartaWebSocketServletContainerInitializer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

/**
 * docs/embedding.md's Jetty example, whole: the guide shows this file's text between the two
 * "embedding.md" lines, and EmbeddingGuideIntegrationTest runs it and checks the guide still
 * shows it word for word.
 */
public final class JettyFeed implements AutoCloseable {
  // ---- embedding.md: from here ----
  // One node: the in-memory stream is the bus and the history. Several nodes: a RedisBus
  // (redis.md). The node owns the stream, the hub and every thread from here.
  private final FanoutNode node;
  private final Server jetty = new Server();

  public JettyFeed(int port, String allowedOrigin, Authenticator authenticator)
      throws Exception {
    node = FanoutNode.builder()
        .stream(InMemoryStream.create(100_000))
        .allowedOrigins(allowedOrigin)
        .authenticator(authenticator)
        .build();
    FanoutWebSocket ws = FanoutWebSocket.builder(node).path("/ws").build();
    ServerConnector connector = new ServerConnector(jetty);
    connector.setPort(port);
    jetty.addConnector(connector);
    ServletContextHandler context = new ServletContextHandler("/");
    JakartaWebSocketServletContainerInitializer.configure(context, (servlets, container) -> {
      container.setDefaultMaxSessionIdleTimeout(0); // fanout's heartbeat decides liveness
      container.addEndpoint(ws.endpointConfig());
    });
    jetty.setHandler(context);
    jetty.start();
    // Refused handshakes get their exact status (401, 403, 426, 503). Jetty puts its own
    // upgrade filter first when the context starts, so ours goes in front of it afterwards.
    FilterHolder filter = new FilterHolder(new HandshakeFilter(node));
    FilterMapping mapping = new FilterMapping();
    mapping.setFilterName(filter.getName());
    mapping.setPathSpec("/ws");
    mapping.setDispatcherTypes(EnumSet.of(DispatcherType.REQUEST));
    context.getServletHandler().prependFilter(filter);
    context.getServletHandler().prependFilterMapping(mapping);
    node.start();
  }

  /** What the service calls for each event; data is one JSON value. */
  public EventId publish(String topic, Map<String, String> attributes, String json) {
    return node.publish(topic, attributes, json);
  }

  /**
   * Every client gets 1001 Going Away (paced over 2 s, so they do not all come back at once)
   * while Jetty still writes; then the node stops its hub, stream and threads; then Jetty
   * stops. Nothing is left running, so the JVM can exit.
   */
  @Override
  public void close() throws Exception {
    node.shutdown(Duration.ofSeconds(2));
    jetty.stop();
  }
  // ---- embedding.md: to here ----

  /** The port bound (useful with port 0). */
  public int port() {
    return ((ServerConnector) jetty.getConnectors()[0]).getLocalPort();
  }
}
