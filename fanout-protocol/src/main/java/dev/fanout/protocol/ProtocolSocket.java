package dev.fanout.protocol;

import dev.fanout.core.Transport;
import java.time.Duration;
import java.util.List;

/**
 * The socket glue a transport adapter gives a {@link ProtocolSession}: the only part of protocol
 * v1 that knows the WebSocket library. Frames are text; everything else (what to send, when to
 * ping, when and why to close) is decided by the session.
 */
public interface ProtocolSocket {
  /** {@link #transport()} of a WebSocket. */
  String WEBSOCKET = "websocket";
  /** {@link #transport()} of a Server-Sent Events stream. */
  String SSE = "sse";

  /**
   * Starts writing one text frame; calls {@code done} exactly once, from any thread, possibly
   * before returning: with null when written, or with the failure. The session never has more
   * than one send in flight, so the adapter needs no queue of its own.
   */
  void send(String frame, Transport.SendCallback done);

  /**
   * Starts writing several text frames together, in order, with one completion; false (the
   * default) when this socket cannot, and the session then sends one {@code batch} frame instead.
   * See {@link Transport#sendAll}.
   */
  default boolean sendAll(List<String> frames, Transport.SendCallback done) {
    return false;
  }

  /**
   * Writes a ping carrying {@code payload}. May block (some containers do while the peer is not
   * reading): the session calls it on its own ping threads, one at a time per socket.
   */
  void ping(byte[] payload) throws Exception;

  /**
   * The SSE heartbeat's pass ({@link FanoutNode.Builder#sseHeartbeat}): a stream writes a comment
   * unless a write is in progress. Nothing by default (WebSocket's pings keep it open). Called on
   * a ping thread; must not block.
   */
  default void keepAlive() {}

  /**
   * What kind of connection this is, for counts by transport: {@code "websocket"} by default,
   * {@code "sse"} for a Server-Sent Events stream.
   */
  default String transport() {
    return WEBSOCKET;
  }

  /**
   * Closes the WebSocket with {@code code} and {@code reason} (at most 123 UTF-8 bytes): sends
   * the close frame if it can, and makes sure the connection is gone (the TCP socket closed, or
   * reset) no later than {@code deadline} from now, even if the peer never reads and never
   * answers; nothing more is written to it. Called once. May block: the session calls it on the
   * node's close threads.
   */
  void close(int code, String reason, Duration deadline) throws Exception;
}
