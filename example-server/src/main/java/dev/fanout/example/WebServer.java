package dev.fanout.example;

import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.websocket.server.ServerEndpointConfig;
import java.io.IOException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.util.function.Supplier;
import org.eclipse.jetty.ee10.servlet.DefaultServlet;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.ee10.websocket.jakarta.server.config.JakartaWebSocketServletContainerInitializer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.resource.ResourceFactory;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * Jetty 12 (ee10) with its Jakarta WebSocket implementation: the WebSocket endpoint, the page's
 * static files and plain-text HTTP endpoints on one port. Jetty rather than Tyrus/Grizzly because
 * it writes a WebSocket frame for less CPU and holds an idle connection in less memory (see
 * docs/benchmarks.md, "Which container").
 */
final class WebServer {
  static final int ACCEPT_QUEUE = 4096;

  private final Server server;
  private final ServerConnector connector;
  private final ServletContextHandler context = new ServletContextHandler("/");

  /**
   * @param staticBase classpath folder served at / (index.html is the welcome file)
   */
  WebServer(String host, int port, String staticBase) {
    QueuedThreadPool threads = new QueuedThreadPool();
    threads.setName("http");
    server = new Server(threads);
    connector = new ServerConnector(server);
    connector.setHost(host);
    connector.setPort(port);
    // WebSocket liveness is fanout's heartbeat; the container's idle timeout stays out of it.
    connector.setIdleTimeout(0);
    // A reconnect storm opens thousands of connections a second. With the JVM's default backlog
    // of 50 the kernel drops SYNs and a client waits out TCP's retransmission backoff (1, 2, 4,
    // ... 32 s): one storm took 55 s instead of 6. The kernel caps this at net.core.somaxconn.
    connector.setAcceptQueueSize(ACCEPT_QUEUE);
    server.addConnector(connector);
    server.setHandler(context);
    URL base = WebServer.class.getResource(staticBase);
    if (base == null) {
      throw new IllegalStateException("no static files at " + staticBase + " on the classpath");
    }
    context.setBaseResource(ResourceFactory.of(context).newResource(base));
    context.setWelcomeFiles(new String[] {"index.html"});
    context.addServlet(new ServletHolder("static", DefaultServlet.class), "/");
  }

  /** Serves {@code body.get()} at {@code path} for GET. Call before {@link #deploy}. */
  void text(String path, String contentType, Supplier<String> body) {
    context.addServlet(new ServletHolder(new HttpServlet() {
      @Override
      protected void doGet(HttpServletRequest request, HttpServletResponse response)
          throws IOException {
        byte[] bytes = body.get().getBytes(StandardCharsets.UTF_8);
        response.setContentType(contentType);
        response.setContentLength(bytes.length);
        response.getOutputStream().write(bytes);
      }
    }), path);
  }

  /** Binds the port (not yet serving); returns the port bound, useful with port 0. */
  int listen() throws IOException {
    connector.open();
    return connector.getLocalPort();
  }

  /** Adds the WebSocket endpoint and starts serving; call after {@link #listen()}. */
  void deploy(ServerEndpointConfig endpoint) throws Exception {
    JakartaWebSocketServletContainerInitializer.configure(context, (servletContext, container) -> {
      container.setDefaultMaxSessionIdleTimeout(0); // fanout's heartbeat decides
      container.addEndpoint(endpoint);
    });
    server.start();
  }

  int getPort() {
    return connector.getLocalPort();
  }

  /** Stops accepting and closes every socket. */
  void stop() {
    try {
      server.stop();
    } catch (Exception e) {
      throw new IllegalStateException("stopping Jetty failed", e);
    }
  }
}
