package dev.fanout.protocol;

import dev.fanout.core.Transport;
import java.util.List;
import java.util.Map;

/**
 * The HTTP glue a transport gives {@link SseRequest#serve}: the only part of Server-Sent Events
 * that knows the server. Everything else (what to answer, what to write, when to close) is
 * decided by fanout-protocol.
 */
public interface SseSink {

  /**
   * Answers the request with a complete response: {@code status}, {@code headers} (Content-Type
   * included, unless the status is 204) and {@code body} (empty for 204: then no Content-Length
   * either); the response ends there. Called at most once, instead of {@link #accept}, on the
   * thread that called {@link SseRequest#serve}.
   */
  void refuse(int status, Map<String, String> headers, String body);

  /**
   * The request is accepted: the response becomes a stream that outlives the call to {@link
   * SseRequest#serve} (a servlet's async mode), and the transport tells the session when the
   * client is gone from now on. Nothing is sent yet. Called at most once, on the thread that
   * called {@link SseRequest#serve}.
   */
  void accept();

  /**
   * Sends the 200 with {@code headers} (Content-Type included), once the subscription is answered;
   * the body is a stream that {@link #write} continues. Called at most once, after {@link
   * #accept}, from any thread, before the first {@link #write}.
   */
  void start(Map<String, String> headers);

  /**
   * Starts writing {@code text} (UTF-8) to the body and flushing it; calls {@code done} exactly
   * once, from any thread, possibly before returning: with null when written, or with the
   * failure. Never called again before {@code done}.
   */
  void write(String text, Transport.SendCallback done);

  /**
   * As {@link #write}, with {@code texts} one after the other, flushed once: a transport that
   * can write texts shared by many streams as they are (encoded once) overrides this; by
   * default they are joined into one text.
   */
  default void writeAll(List<String> texts, Transport.SendCallback done) {
    write(String.join("", texts), done);
  }

  /**
   * Ends the stream and the connection (the client's EventSource reconnects); nothing is written
   * after it. Called at most once, from any thread; it must not block for long.
   */
  void close();
}
