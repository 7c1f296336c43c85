package dev.fanout.jakarta;

import dev.fanout.protocol.Authentication;
import dev.fanout.protocol.ProtocolSession;
import jakarta.websocket.CloseReason;
import jakarta.websocket.Endpoint;
import jakarta.websocket.EndpointConfig;
import jakarta.websocket.PongMessage;
import jakarta.websocket.Session;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One WebSocket connection: glues a Jakarta {@link Session} to its {@link ProtocolSession}, which
 * speaks protocol v1. Created by {@link FanoutWebSocket}'s configurator, one instance per
 * connection; not for direct use (it is public only because containers instantiate endpoint
 * classes reflectively).
 */
public final class FanoutEndpoint extends Endpoint {
  private static final Logger log = LoggerFactory.getLogger(FanoutEndpoint.class);

  private final FanoutWebSocket ws;
  private volatile ProtocolSession protocolSession;

  FanoutEndpoint(FanoutWebSocket ws) {
    this.ws = ws;
  }

  @Override
  public void onOpen(Session session, EndpointConfig config) {
    Authentication auth =
        (Authentication) session.getUserProperties().get(FanoutWebSocket.AUTH_KEY);
    // The container may buffer up to 4x the limit, so that the node's own check closes with
    // its documented reason; only a message larger still is refused in the container's words.
    int max = ws.node.settings().maxMessageBytes();
    session.setMaxTextMessageBufferSize((int) Math.min(Integer.MAX_VALUE, max * 4L));
    session.setMaxBinaryMessageBufferSize(64);
    ProtocolSession s = ws.node.open(auth, remoteAddress(session), new JakartaSocket(session));
    protocolSession = s;
    session.addMessageHandler(String.class, s::textReceived);
    session.addMessageHandler(ByteBuffer.class, b -> s.binaryReceived());
    session.addMessageHandler(PongMessage.class, p -> s.pongReceived(p.getApplicationData()));
  }

  /**
   * The peer's address where the container tells it: Jetty, Tomcat and Tyrus put an
   * InetSocketAddress in the session's user properties, under keys of their own.
   */
  private static InetSocketAddress remoteAddress(Session session) {
    for (Map.Entry<String, Object> e : session.getUserProperties().entrySet()) {
      if (e.getKey().endsWith("remoteAddress") && e.getValue() instanceof InetSocketAddress a) {
        return a;
      }
    }
    return null;
  }

  @Override
  public void onClose(Session session, CloseReason closeReason) {
    ProtocolSession s = protocolSession;
    if (s != null) {
      s.closed(closeReason.getCloseCode().getCode());
    }
  }

  @Override
  public void onError(Session session, Throwable failure) {
    log.debug("session {}: {}", session.getId(), failure.toString());
  }

  @Override
  public String toString() {
    return "FanoutEndpoint{" + protocolSession + "}";
  }
}
