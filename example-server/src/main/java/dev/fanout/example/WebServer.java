package dev.fanout.example;

import dev.fanout.jakarta.FanoutWebSocket;
import dev.fanout.jakarta.HandshakeFilter;
import dev.fanout.jakarta.SseServlet;
import dev.fanout.netty.FanoutNettyServer;
import dev.fanout.protocol.FanoutNode;
import dev.fanout.protocol.Handshake;
import dev.fanout.protocol.HttpEdge;
import dev.fanout.protocol.SseRequest;
import jakarta.servlet.ServletException;
import jakarta.servlet.DispatcherType;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.eclipse.jetty.ee10.servlet.DefaultServlet;
import org.eclipse.jetty.ee10.servlet.FilterHolder;
import org.eclipse.jetty.ee10.servlet.FilterMapping;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletContextRequest;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.ee10.websocket.jakarta.server.config.JakartaWebSocketServletContainerInitializer;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.MetaData;
import org.eclipse.jetty.http2.server.HTTP2CServerConnectionFactory;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.resource.ResourceFactory;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * {@link Web} on Jetty 12 (ee10), the WebSocket endpoint through the Jakarta adapter: the endpoint,
 * the page's static files and plain-text HTTP endpoints on one port, over HTTP/1.1 and HTTP/2
 * cleartext (h2c; the WebSocket endpoint on HTTP/1.1). Jetty rather than
 * Tyrus/Grizzly because it writes a WebSocket frame for less CPU and holds an idle connection in
 * less memory (see docs/benchmarks.md, "Which container").
 */
final class WebServer implements Web {
  static final int ACCEPT_QUEUE = 4096;

  private final Server server;
  private final ServerConnector connector;
  private final HTTP2CServerConnectionFactory h2c;
  private volatile String webSocketPath = "/ws"; // deploy's
  private final ServletContextHandler context = new ServletContextHandler("/");
  private final Map<String, Set<String>> methods = new ConcurrentHashMap<>(); // by route path

  /**
   * @param staticBase classpath folder served at / (index.html is the welcome file)
   * @param requestTimeout how long a connection may stay silent before its upgrade, and how long
   *     it may take to send its whole first request
   */
  WebServer(String host, int port, String staticBase, Duration requestTimeout) {
    QueuedThreadPool threads = new QueuedThreadPool();
    threads.setName("http");
    server = new Server(threads);
    // Resets the connections it gives up on at the idle timeout (fanout's close deadline) instead
    // of leaving their unsent bytes to the kernel (AbortingConnector).
    connector = new AbortingConnector(server);
    // No "Server: Jetty(12.x.y)": a version tells an attacker which advisories to try.
    HttpConnectionFactory http1 = connector.getConnectionFactory(HttpConnectionFactory.class);
    http1.getHttpConfiguration().setSendServerVersion(false);
    // HTTP/2 cleartext (h2c) on the same port, by prior knowledge or by HTTP/1.1's
    // "Upgrade: h2c": a client's event streams, page and endpoints share one connection, where
    // HTTP/1.1 needs one connection per stream. WebSocket stays on HTTP/1.1 (its upgrade);
    // RFC 8441's extended CONNECT is not offered, so every WebSocket handshake goes through
    // fanout's HandshakeFilter as an HTTP/1.1 upgrade.
    h2c = new HTTP2CServerConnectionFactory(http1.getHttpConfiguration()) {
      // Never on the WebSocket path: a proxy that passes Upgrade there (for WebSocket) would
      // otherwise let a client tunnel HTTP/2 past it ("h2c smuggling"). As on Netty.
      @Override
      public org.eclipse.jetty.io.Connection upgradeConnection(Connector connector,
          EndPoint endPoint, MetaData.Request request, HttpFields.Mutable response) {
        return request.getHttpURI().getPath().equals(webSocketPath) ? null
            : super.upgradeConnection(connector, endPoint, request, response);
      }
    };
    h2c.setConnectProtocolEnabled(false);
    connector.addConnectionFactory(h2c);
    connector.setHost(host);
    connector.setPort(port);
    // Closes sockets that go silent before or without an upgrade. An upgraded connection takes
    // its WebSocket session's idle timeout instead (0 below): its liveness is fanout's heartbeat.
    connector.setIdleTimeout(requestTimeout.toMillis());
    // ... and those that trickle a byte now and then: the whole request within the same time.
    connector.addEventListener(new RequestDeadline(connector.getScheduler(), requestTimeout));
    // A reconnect storm opens thousands of connections a second. With the JVM's default backlog
    // of 50 the kernel drops SYNs and a client waits out TCP's retransmission backoff (1, 2, 4,
    // ... 32 s): one storm took 55 s instead of 6. The kernel caps this at net.core.somaxconn.
    connector.setAcceptQueueSize(ACCEPT_QUEUE);
    // What a client that stops reading can pin in the kernel: about twice this per connection,
    // instead of the 4 MiB Linux's autotuning lets a send buffer grow to (the Netty transport's
    // default too; operations.md).
    connector.setAcceptedSendBufferSize(FanoutNettyServer.DEFAULT_SEND_BUFFER);
    server.addConnector(connector);
    server.setHandler(context);
    URL base = WebServer.class.getResource(staticBase);
    if (base == null) {
      throw new IllegalStateException("no static files at " + staticBase + " on the classpath");
    }
    context.setBaseResource(ResourceFactory.of(context).newResource(base));
    context.setWelcomeFiles(new String[] {"index.html"});
    ServletHolder files = new ServletHolder("static", DefaultServlet.class);
    // Whole files only: a request for many ranges of one file cost an answer many times its
    // size (multipart/byteranges); the page never asks for a range. Netty serves none either.
    files.setInitParameter("acceptRanges", "false");
    context.addServlet(files, "/");
    // Every path here is read-only but those a route gives another method (POST and DELETE
    // /session): TRACE (which echoes Authorization and Cookie back), PUT, DELETE and the rest get
    // 405 before any servlet sees them. A path that is ambiguous before
    // Jetty normalises it (/health/../metrics) gets 400, as on Netty (HttpEdge; the endpoint's
    // own path is HandshakeFilter's, which runs before Jetty's upgrade). Every answer carries
    // the security headers.
    FilterHolder edge = new FilterHolder((req, res, chain) -> {
      HttpServletRequest request = (HttpServletRequest) req;
      HttpServletResponse response = (HttpServletResponse) res;
      SECURITY_HEADERS.forEach(response::setHeader);
      String method = request.getMethod();
      Set<String> routed = methods.getOrDefault(request.getRequestURI(), Set.of("GET"));
      if (HttpEdge.isAmbiguousPath(request.getRequestURI())) {
        plain(response, 400, "malformed or ambiguous request target");
      } else if (method.equals("GET") || method.equals("HEAD") || routed.contains(method)) {
        chain.doFilter(req, res);
      } else {
        response.setHeader("Allow", allow(routed));
        plain(response, 405, "method not allowed: " + method);
      }
    });
    edge.setAsyncSupported(true); // the event stream answers asynchronously
    context.addFilter(edge, "/*", EnumSet.of(DispatcherType.REQUEST));
  }

  @Override
  public void route(String path, String contentType,
      Map<String, Function<Handshake, Answer>> answers) {
    methods.put(path, Set.copyOf(answers.keySet()));
    context.addServlet(new ServletHolder(new HttpServlet() {
      @Override
      protected void service(HttpServletRequest request, HttpServletResponse response)
          throws IOException {
        String method = request.getMethod().equals("HEAD") ? "GET" : request.getMethod();
        Function<Handshake, Answer> answer = answers.get(method);
        if (answer == null) {
          response.setHeader("Allow", allow(answers.keySet()));
          plain(response, 405, "method not allowed: " + request.getMethod());
          return;
        }
        Handshake handshake;
        try {
          handshake = HandshakeFilter.handshake(request);
        } catch (IllegalArgumentException e) { // no URI can hold it (?q=%zz)
          plain(response, 400, "malformed request target");
          return;
        }
        Answer a = answer.apply(handshake);
        byte[] bytes = a.body().getBytes(StandardCharsets.UTF_8);
        response.setStatus(a.status());
        a.headers().forEach(response::setHeader);
        response.setContentType(contentType);
        response.setContentLength(bytes.length);
        if (!request.getMethod().equals("HEAD")) {
          response.getOutputStream().write(bytes);
        }
      }
    }), path);
  }

  /** The Allow header of a path taking {@code methods}: GET brings HEAD. */
  static String allow(Set<String> methods) {
    return methods.stream().flatMap(m -> m.equals("GET") ? Stream.of("GET", "HEAD")
        : Stream.of(m)).sorted().collect(Collectors.joining(", "));
  }

  private static void plain(HttpServletResponse response, int status, String text)
      throws IOException {
    byte[] bytes = (text + "\n").getBytes(StandardCharsets.UTF_8);
    response.setStatus(status);
    response.setContentType("text/plain;charset=utf-8");
    response.setContentLength(bytes.length);
    response.getOutputStream().write(bytes);
  }

  /** Binds the port (not yet serving); returns the port bound, useful with port 0. */
  @Override
  public int listen() throws IOException {
    connector.open();
    return connector.getLocalPort();
  }

  /**
   * Adds the WebSocket endpoint, with fanout's {@link HandshakeFilter} in front of its path so a
   * refused handshake gets its exact status (401, 403, 426, 503) and a one-line body, and starts
   * serving; call after {@link #listen()}.
   */
  @Override
  public void deploy(FanoutNode node, String path, boolean compression) throws Exception {
    FanoutWebSocket ws = FanoutWebSocket.builder(node).path(path).compression(compression)
        .build();
    webSocketPath = path;
    // Server-Sent Events at /events: an idle stream still gets a heartbeat comment every
    // interval, so its connection's idle timeout is the heartbeat timeout, not the request's.
    SseServlet sse = new SseServlet(node);
    long idle = node.settings().heartbeatTimeout().toMillis();
    // On HTTP/2 each stream has an idle timeout of its own (by default the connection's, the
    // request timeout): an event stream's is the heartbeat timeout, as its connection's on
    // HTTP/1.1. Other streams end with their answer.
    h2c.setStreamIdleTimeout(idle);
    ServletHolder events = new ServletHolder("events", new HttpServlet() {
      @Override
      protected void service(HttpServletRequest request, HttpServletResponse response)
          throws IOException, ServletException {
        if (!request.getMethod().equals("GET")) { // a HEAD would open a stream without a body
          response.setHeader("Allow", "GET");
          plain(response, 405, "method not allowed: " + request.getMethod());
          return;
        }
        ServletContextRequest.getServletContextRequest(request).getConnectionMetaData()
            .getConnection().getEndPoint().setIdleTimeout(idle);
        sse.service(request, response);
      }
    });
    events.setAsyncSupported(true);
    context.addServlet(events, SseRequest.DEFAULT_PATH);
    JakartaWebSocketServletContainerInitializer.configure(context, (servletContext, container) -> {
      container.setDefaultMaxSessionIdleTimeout(0); // fanout's heartbeat decides
      container.addEndpoint(ws.endpointConfig());
    });
    server.start();
    // Jetty puts its own upgrade filter first when the context starts; ours must run before it.
    FilterHolder holder = new FilterHolder(new HandshakeFilter(node));
    FilterMapping mapping = new FilterMapping();
    mapping.setFilterName(holder.getName());
    mapping.setPathSpec(ws.endpointConfig().getPath());
    mapping.setDispatcherTypes(EnumSet.of(DispatcherType.REQUEST));
    context.getServletHandler().prependFilter(holder);
    context.getServletHandler().prependFilterMapping(mapping);
  }

  @Override
  public int getPort() {
    return connector.getLocalPort();
  }

  @Override
  public void stop() {
    try {
      server.stop();
    } catch (Exception e) {
      throw new IllegalStateException("stopping Jetty failed", e);
    }
  }
}
