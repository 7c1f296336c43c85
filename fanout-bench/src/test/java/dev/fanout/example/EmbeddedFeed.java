package dev.fanout.example;

import java.time.Duration;
import java.util.Map;

/**
 * The example server in embedded mode (in-memory stream, no generator), in this process, on a
 * free port: what fanout-bench's load clients are tested against. It lives in the example
 * server's package to reach {@link FeedServer}, which is not public.
 */
public final class EmbeddedFeed implements AutoCloseable {
  private final FeedServer server;

  private EmbeddedFeed(FeedServer server) {
    this.server = server;
  }

  /** Starts one on {@code transport}, "jetty" or "netty". */
  public static EmbeddedFeed start(String transport) throws Exception {
    FeedServer.Config c = new FeedServer.Config();
    c.port = 0;
    c.generator = false;
    c.shutdownSpread = Duration.ZERO;
    c.transport = transport;
    c.maxConnections = ExampleServer.EMBEDDED_MAX_CONNECTIONS;
    return new EmbeddedFeed(FeedServer.start(c));
  }

  public int port() {
    return server.port();
  }

  /** Publishes {@code data} on merchant topic {@code merchant}; returns the event's id. */
  public String publish(String merchant, String data) {
    return server.node().publish(merchant, Map.of("method", "card"), data).toString();
  }

  /** Connections the node holds now. */
  public int connections() {
    return server.node().status().connections();
  }

  @Override
  public void close() {
    server.close();
  }
}
