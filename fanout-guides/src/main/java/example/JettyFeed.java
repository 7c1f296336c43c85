package example;

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

/** A live feed on Jetty 12 at ws://host:port/ws: docs/embedding.md shows this file whole. */
public final class JettyFeed implements AutoCloseable {
  private final FanoutNode node;
  private final Server jetty = new Server();

  public JettyFeed(String host, int port, String allowedOrigin) throws Exception {
    // One node: the in-memory stream is its bus and history. Several nodes: a RedisBus.
    node = FanoutNode.builder()
        .stream(InMemoryStream.create(100_000))
        .allowedOrigins(allowedOrigin)
        .authenticator(Authenticator.allowAll()) // everyone sees everything: yours goes here
        .build();
    ServerConnector connector = new ServerConnector(jetty);
    connector.setHost(host); // 127.0.0.1: this machine only; 0.0.0.0: every interface
    connector.setPort(port);
    jetty.addConnector(connector);
    ServletContextHandler context = new ServletContextHandler("/");
    FanoutWebSocket ws = FanoutWebSocket.builder(node).path("/ws").build();
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

  public int port() {
    return ((ServerConnector) jetty.getConnectors()[0]).getLocalPort();
  }

  /** 1001 to every client, paced over 2 s, while Jetty still writes; then Jetty stops. */
  @Override
  public void close() throws Exception {
    node.shutdown(Duration.ofSeconds(2));
    jetty.stop();
  }

  public static void main(String[] args) throws Exception {
    JettyFeed feed = new JettyFeed("127.0.0.1", 8080, "http://localhost:8080");
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        feed.close();
      } catch (Exception e) {
        e.printStackTrace();
      }
    }));
    for (int i = 1; ; i++) { // an event a second until the JVM is stopped
      feed.publish("mch_1", Map.of("status", "captured"), "{\"n\":" + i + "}");
      Thread.sleep(1000);
    }
  }
}
