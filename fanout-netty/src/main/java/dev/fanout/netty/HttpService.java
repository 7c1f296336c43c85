package dev.fanout.netty;

import dev.fanout.protocol.Handshake;
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

  /** A complete response. */
  record Answer(int status, String contentType, byte[] body) {
    public Answer {
      Objects.requireNonNull(contentType, "contentType");
      Objects.requireNonNull(body, "body");
    }
  }
}
