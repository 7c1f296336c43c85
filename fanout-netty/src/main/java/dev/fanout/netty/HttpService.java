package dev.fanout.netty;

import dev.fanout.protocol.Handshake;
import java.util.Map;
import java.util.Objects;

/**
 * Answers plain HTTP requests on paths other than the WebSocket endpoint's: health, metrics, a
 * page. Runs on an event-loop thread, so it must answer quickly and never block. GET and HEAD go
 * to {@link #answer(Handshake)}; other methods get 405 unless {@link #answer(String, Handshake)}
 * answers them. A request's body is never read: everything a service gets is the request line and
 * the headers.
 */
@FunctionalInterface
public interface HttpService {

  /**
   * The answer to {@code request} (its URI, headers, query parameters and peer), or null for 404.
   */
  Answer answer(Handshake request);

  /**
   * The answer to a request with another method than GET or HEAD ({@code POST}, {@code DELETE},
   * upper case as sent), or null for 405 (the default, for every such method). A service that
   * answers one decides alone what is safe: such a request may come from another site's page.
   */
  default Answer answer(String method, Handshake request) {
    return null;
  }

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
