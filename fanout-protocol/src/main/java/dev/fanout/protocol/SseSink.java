package dev.fanout.protocol;

import dev.fanout.core.Transport;
import java.util.Map;

/**
 * The HTTP glue a transport gives {@link SseRequest#serve}: the only part of Server-Sent Events
 * that knows the server. Everything else (what to answer, what to write, when to close) is
 * decided by fanout-protocol.
 */
public interface SseSink {

  /**
   * Answers the request with a complete response: {@code status}, {@code headers} (Content-Type
   * included) and {@code body}; the response ends there. Called at most once, instead of {@link
   * #start}, on the thread that called {@link SseRequest#serve}.
   */
  void refuse(int status, Map<String, String> headers, String body);

  /**
   * Commits a 200 response with {@code headers} (Content-Type included) whose body is a stream
   * that {@link #write} continues; called at most once, on the thread that called {@link
   * SseRequest#serve}.
   */
  void start(Map<String, String> headers);

  /**
   * Starts writing {@code text} (UTF-8) to the body and flushing it; calls {@code done} exactly
   * once, from any thread, possibly before returning: with null when written, or with the
   * failure. Never called again before {@code done}.
   */
  void write(String text, Transport.SendCallback done);

  /**
   * Ends the stream and the connection (the client's EventSource reconnects); nothing is written
   * after it. Called at most once, from any thread; it must not block for long.
   */
  void close();
}
