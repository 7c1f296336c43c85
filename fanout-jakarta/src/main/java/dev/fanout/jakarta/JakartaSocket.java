package dev.fanout.jakarta;

import dev.fanout.core.Transport;
import dev.fanout.protocol.ProtocolSocket;
import jakarta.websocket.CloseReason;
import jakarta.websocket.Session;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Map;

/** A {@link ProtocolSocket} over a Jakarta WebSocket session's asynchronous remote. */
final class JakartaSocket implements ProtocolSocket {
  static final String TOMCAT_BLOCKING_SEND_TIMEOUT =
      "org.apache.tomcat.websocket.BLOCKING_SEND_TIMEOUT";
  static final String TOMCAT_SESSION_CLOSE_TIMEOUT =
      "org.apache.tomcat.websocket.SESSION_CLOSE_TIMEOUT";

  private final Session session;

  JakartaSocket(Session session) {
    this.session = session;
  }

  @Override
  public void send(String frame, Transport.SendCallback done) {
    session.getAsyncRemote().sendText(frame, result -> done.completed(
        result.isOK() ? null : result.getException()));
  }

  @Override
  public void ping(byte[] payload) throws IOException {
    session.getAsyncRemote().sendPing(ByteBuffer.wrap(payload));
  }

  /**
   * The Jakarta API cannot abort a socket, so the deadline is given to each container's own
   * setting before the close frame goes: Jetty (and Tyrus) close a connection idle for longer than
   * its idle timeout, a closing one included; Tomcat gives up the close frame's write after its
   * blocking send timeout, and the wait for the peer's close after its session close timeout.
   */
  @Override
  public void close(int code, String reason, Duration deadline) throws IOException {
    if (!session.isOpen()) {
      return;
    }
    long millis = Math.max(1, deadline.toMillis());
    session.setMaxIdleTimeout(millis);
    Map<String, Object> properties = session.getUserProperties();
    properties.put(TOMCAT_BLOCKING_SEND_TIMEOUT, millis);
    properties.put(TOMCAT_SESSION_CLOSE_TIMEOUT, millis);
    session.close(new CloseReason(CloseReason.CloseCodes.getCloseCode(code), reason));
  }
}
