package dev.fanout.example;

import dev.fanout.protocol.FanoutNode;
import dev.fanout.protocol.Handshake;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The example server's HTTP side, on either transport: the page, a few plain GET endpoints, and
 * the WebSocket endpoint. {@link WebServer} is Jetty with the Jakarta adapter, {@link NettyWeb}
 * the Netty transport; both answer the same paths the same way.
 */
interface Web {
  /** An answer of a plain HTTP endpoint. */
  record Answer(int status, String body) {}

  /** Serves {@code answer} of each GET at {@code path}. Call before {@link #deploy}. */
  void text(String path, String contentType, Function<Handshake, Answer> answer);

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
