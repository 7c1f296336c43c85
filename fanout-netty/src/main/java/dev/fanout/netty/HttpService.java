package dev.fanout.netty;

import dev.fanout.protocol.Handshake;
import java.util.Map;
import java.util.Objects;

/**
 * Answers plain HTTP GET and HEAD requests on paths other than the WebSocket endpoint's: health,
 * metrics, a page. Runs on an event-loop thread, so it must answer quickly and never block. Other
 * methods get 405 without asking it.
 */
@FunctionalInterface
public interface HttpService {

  /**
   * The answer to {@code request} (its URI, headers, query parameters and peer), or null for 404.
   */
  Answer answer(Handshake request);

  /**
   * A complete response, with {@code headers} added to it (such as security headers for a page);
   * Content-Type, Content-Length and Connection are the server's.
   */
  record Answer(int status, String contentType, byte[] body, Map<String, String> headers) {
    public Answer {
      Objects.requireNonNull(contentType, "contentType");
      Objects.requireNonNull(body, "body");
      headers = Map.copyOf(headers);
    }

    /** A response without headers of its own. */
    public Answer(int status, String contentType, byte[] body) {
      this(status, contentType, body, Map.of());
    }
  }
}
