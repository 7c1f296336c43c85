package dev.fanout.jakarta;

import dev.fanout.core.Transport;
import dev.fanout.protocol.ProtocolSocket;
import jakarta.websocket.CloseReason;
import jakarta.websocket.Session;
import java.io.IOException;
import java.nio.ByteBuffer;

/** A {@link ProtocolSocket} over a Jakarta WebSocket session's asynchronous remote. */
final class JakartaSocket implements ProtocolSocket {
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

  @Override
  public void close(int code, String reason) throws IOException {
    if (session.isOpen()) {
      session.close(new CloseReason(CloseReason.CloseCodes.getCloseCode(code), reason));
    }
  }
}
