package dev.fanout.jakarta.sample;

import dev.fanout.core.EventId;
import dev.fanout.core.Hub;
import dev.fanout.core.InMemoryStream;
import dev.fanout.jakarta.FanoutWebSocket;
import dev.fanout.jakarta.HandshakeFilter;
import dev.fanout.protocol.Authenticator;
import dev.fanout.protocol.FanoutProtocol;
import jakarta.servlet.DispatcherType;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
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
  private final ExecutorService senders = Executors.newFixedThreadPool(2);
  // One node: the in-memory stream is the bus and the history. Several nodes: a RedisBus and
  // bus.history() (redis.md). Without a history there is no snapshot and no resume.
  private final InMemoryStream stream = InMemoryStream.create(100_000);
  private final Hub hub = Hub.builder()
      .bus(stream).history(stream)
      .sendExecutor(senders) // the bus thread only queues; these write, batching hot clients
      .build();
  private final FanoutProtocol protocol;
  private final Server jetty = new Server();

  public JettyFeed(int port, String allowedOrigin, Authenticator authenticator)
      throws Exception {
    protocol = FanoutProtocol.builder(hub)
        .allowedOrigins(allowedOrigin)
        .authenticator(authenticator)
        .closeOnShutdown(hub, stream, senders::shutdown) // after the 1001s, in this order
        .build();
    FanoutWebSocket ws = FanoutWebSocket.builder(protocol).path("/ws").build();
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
    FilterHolder filter = new FilterHolder(new HandshakeFilter(protocol));
    FilterMapping mapping = new FilterMapping();
    mapping.setFilterName(filter.getName());
    mapping.setPathSpec("/ws");
    mapping.setDispatcherTypes(EnumSet.of(DispatcherType.REQUEST));
    context.getServletHandler().prependFilter(filter);
    context.getServletHandler().prependFilterMapping(mapping);
  }

  /** What the service calls for each event; data is one JSON value. */
  public EventId publish(String topic, Map<String, String> attributes, String json) {
    return stream.publish(topic, attributes, json);
  }

  /**
   * Every client gets 1001 Going Away (paced over 2 s, so they do not all come back at once)
   * while Jetty still writes; then the protocol closes the hub, the bus and the send threads;
   * then Jetty stops. Nothing is left running, so the JVM can exit.
   */
  @Override
  public void close() throws Exception {
    protocol.shutdown(Duration.ofSeconds(2));
    jetty.stop();
  }
  // ---- embedding.md: to here ----

  /** The port bound (useful with port 0). */
  public int port() {
    return ((ServerConnector) jetty.getConnectors()[0]).getLocalPort();
  }
}
