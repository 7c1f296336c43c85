package dev.fanout.example;

import dev.fanout.protocol.FanoutNode;
import dev.fanout.protocol.Handshake;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The example server's HTTP side, on either transport: the page, a few plain endpoints (GET, and
 * POST and DELETE for {@code /session}), and the WebSocket endpoint. {@link WebServer} is Jetty
 * with the Jakarta adapter, {@link NettyWeb} the Netty transport; both answer the same paths the
 * same way.
 */
interface Web {
  /**
   * Sent with every answer of the page, its files and the plain endpoints, on both transports:
   * no MIME sniffing, no framing (clickjacking), no Referer (a page URL may carry its token), and
   * a Content-Security-Policy that lets the page load only its own scripts and styles and open
   * only its own origin's WebSocket (CSP 3: 'self' covers ws: and wss: on the same host and port).
   */
  Map<String, String> SECURITY_HEADERS = Map.of(
      "X-Content-Type-Options", "nosniff",
      "X-Frame-Options", "DENY",
      "Referrer-Policy", "no-referrer",
      "Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; "
          + "img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; "
          + "frame-ancestors 'none'");

  /** An answer of a plain HTTP endpoint, with headers of its own (besides the security ones). */
  record Answer(int status, String body, Map<String, String> headers) {
    Answer(int status, String body) {
      this(status, body, Map.of());
    }
  }

  /** Serves {@code answer} of each GET at {@code path}. Call before {@link #deploy}. */
  default void text(String path, String contentType, Function<Handshake, Answer> answer) {
    route(path, contentType, Map.of("GET", answer));
  }

  /**
   * Serves each request at {@code path} whose method (GET, POST, DELETE; HEAD is GET without a
   * body) is a key of {@code answers} with its answer; other methods get 405. Only the paths
   * given another method than GET here take one. Call before {@link #deploy}.
   */
  void route(String path, String contentType, Map<String, Function<Handshake, Answer>> answers);

  /** Serves {@code answer.get()} at {@code path} for GET. Call before {@link #deploy}. */
  default void text(String path, String contentType, Supplier<Answer> answer) {
    text(path, contentType, request -> answer.get());
  }

  /** Reserves the port (for port 0, picks one); returns it. */
  int listen() throws Exception;

  /**
   * Serves the WebSocket endpoint at {@code path} (refused handshakes get their exact status)
   * and everything else; call after {@link #listen()}.
   */
  void deploy(FanoutNode node, String path, boolean compression) throws Exception;

  int getPort();

  /** Stops accepting and closes every socket. */
  void stop();
}
