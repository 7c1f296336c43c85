package dev.fanout.example;

import dev.fanout.netty.FanoutNettyServer;
import dev.fanout.netty.HttpService;
import dev.fanout.protocol.FanoutNode;
import dev.fanout.protocol.Handshake;
import dev.fanout.protocol.SseRequest;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link Web} on the Netty transport: the endpoints and the page answered by the server's {@link
 * HttpService}, static files from the classpath (read once, kept in memory); over HTTP/1.1 and
 * HTTP/2 cleartext (h2c), the WebSocket endpoint on HTTP/1.1.
 */
final class NettyWeb implements Web {
  private static final Logger log = LoggerFactory.getLogger(NettyWeb.class);
  private static final Map<String, String> TYPES = Map.of("html", "text/html;charset=utf-8",
      "js", "text/javascript;charset=utf-8", "css", "text/css;charset=utf-8",
      "svg", "image/svg+xml", "png", "image/png", "ico", "image/x-icon",
      "json", "application/json");

  private final String host;
  private final String staticBase;
  private final Duration requestTimeout;
  private final Map<String, Route> routes = new ConcurrentHashMap<>();
  private final Map<String, HttpService.Answer> files = new ConcurrentHashMap<>();
  private int port;
  private FanoutNettyServer server;

  private record Route(String contentType, Map<String, Function<Handshake, Answer>> answers) {}

  /**
   * @param staticBase classpath folder served at / (index.html for /)
   * @param requestTimeout how long a connection may take from accept to its whole request
   */
  NettyWeb(String host, int port, String staticBase, Duration requestTimeout) {
    this.host = host;
    this.port = port;
    this.staticBase = staticBase;
    this.requestTimeout = requestTimeout;
    if (NettyWeb.class.getResource(staticBase + "index.html") == null) {
      throw new IllegalStateException("no static files at " + staticBase + " on the classpath");
    }
  }

  @Override
  public void route(String path, String contentType,
      Map<String, Function<Handshake, Answer>> answers) {
    routes.put(path, new Route(contentType, Map.copyOf(answers)));
  }

  /**
   * The server binds when it is deployed, once the node exists; port 0 is resolved here to a
   * free port first, so the allowed origins can name it.
   */
  @Override
  public int listen() throws IOException {
    if (port == 0) {
      try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getByName(host))) {
        port = probe.getLocalPort();
      }
    }
    return port;
  }

  @Override
  public void deploy(FanoutNode node, String path, boolean compression)
      throws InterruptedException {
    server = FanoutNettyServer.builder(node).host(host).port(port).path(path)
        .compression(compression).requestTimeout(requestTimeout).sse(SseRequest.DEFAULT_PATH)
        .http2(true) // h2c as on Jetty: many event streams on one connection
        .http(new HttpService() {
          @Override
          public HttpService.Answer answer(Handshake request) {
            return NettyWeb.this.answer("GET", request);
          }

          @Override
          public HttpService.Answer answer(String method, Handshake request) {
            return NettyWeb.this.answer(method, request);
          }
        }).start();
    log.info("Netty transport: {}", server.transport()); // epoll unless the native library failed
  }

  /**
   * The route's answer or the static file, or null for 404 (405 for another method than GET,
   * HEAD or the route's). The server has refused what is not a plain absolute path (dot or empty
   * segments, {@code //x}), and this checks again: no path makes it throw.
   */
  private HttpService.Answer answer(String method, Handshake request) {
    String path = request.uri().getRawPath();
    if (path == null || !path.startsWith("/")) {
      return null;
    }
    Route route = routes.get(path);
    if (route != null) {
      Function<Handshake, Answer> answer = route.answers.get(method);
      if (answer == null) { // 405, as on Jetty, saying which methods the path takes
        Map<String, String> headers = new HashMap<>(SECURITY_HEADERS);
        headers.put("Allow", WebServer.allow(route.answers.keySet()));
        return new HttpService.Answer(405, "text/plain;charset=utf-8",
            ("method not allowed: " + method + "\n").getBytes(StandardCharsets.UTF_8), headers);
      }
      Answer a = answer.apply(request);
      Map<String, String> headers = new HashMap<>(SECURITY_HEADERS);
      headers.putAll(a.headers());
      return new HttpService.Answer(a.status(), route.contentType,
          a.body().getBytes(StandardCharsets.UTF_8), headers);
    }
    if (!method.equals("GET")) {
      return null; // 405: files are read-only
    }
    String name = path.equals("/") ? "index.html" : path.substring(1);
    if (name.isEmpty() || name.contains("..") || name.contains("//") || name.endsWith("/")) {
      return null;
    }
    return files.computeIfAbsent(name, this::file);
  }

  private HttpService.Answer file(String name) {
    try (InputStream in = NettyWeb.class.getResourceAsStream(staticBase + name)) {
      if (in == null) {
        return null;
      }
      String ext = name.substring(name.lastIndexOf('.') + 1);
      return new HttpService.Answer(200, TYPES.getOrDefault(ext, "application/octet-stream"),
          in.readAllBytes(), SECURITY_HEADERS);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public int getPort() {
    return port;
  }

  @Override
  public void stop() {
    if (server != null) {
      server.close();
    }
  }
}
