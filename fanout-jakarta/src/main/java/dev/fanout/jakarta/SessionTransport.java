package dev.fanout.jakarta;

import dev.fanout.core.Transport;
import jakarta.websocket.CloseReason;
import jakarta.websocket.Session;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** A core {@link Transport} over a Jakarta WebSocket session's asynchronous remote. */
final class SessionTransport implements Transport {
  private static final Logger log = LoggerFactory.getLogger(SessionTransport.class);
  private static final int MAX_REASON_BYTES = 123; // RFC 6455: close reason fits in 125 bytes

  private final Session session;
  private final Executor closer;

  /**
   * @param closer runs closes: a container may block in {@code Session.close} while the peer is
   *     not reading, and the core calls {@link #close} from publishing threads
   */
  SessionTransport(Session session, Executor closer) {
    this.session = session;
    this.closer = closer;
  }

  @Override
  public void send(String frame, SendCallback done) {
    session.getAsyncRemote().sendText(frame, result -> done.completed(
        result.isOK() ? null : result.getException()));
  }

  @Override
  public void close(int code, String reason) {
    closer.execute(() -> close(session, code, reason));
  }

  static void close(Session session, int code, String reason) {
    try {
      if (session.isOpen()) {
        session.close(new CloseReason(CloseReason.CloseCodes.getCloseCode(code),
            truncate(reason)));
      }
    } catch (IOException | RuntimeException e) {
      log.debug("closing session {} failed", session.getId(), e);
    }
  }

  static String truncate(String reason) {
    byte[] bytes = reason.getBytes(StandardCharsets.UTF_8);
    if (bytes.length <= MAX_REASON_BYTES) {
      return reason;
    }
    String cut = reason;
    while (cut.getBytes(StandardCharsets.UTF_8).length > MAX_REASON_BYTES) {
      cut = cut.substring(0, cut.length() - 1);
    }
    return cut;
  }
}
