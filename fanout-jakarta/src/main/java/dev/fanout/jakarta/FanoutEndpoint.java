package dev.fanout.jakarta;

import com.google.gson.JsonObject;
import dev.fanout.core.Connection;
import dev.fanout.core.EventFilter;
import dev.fanout.core.Scope;
import dev.fanout.core.Subscription;
import jakarta.websocket.CloseReason;
import jakarta.websocket.Endpoint;
import jakarta.websocket.EndpointConfig;
import jakarta.websocket.PongMessage;
import jakarta.websocket.Session;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One WebSocket connection speaking protocol v1. Created by {@link FanoutWebSocket}'s
 * configurator, one instance per connection; not for direct use (it is public only because
 * containers instantiate endpoint classes reflectively).
 */
public final class FanoutEndpoint extends Endpoint {
  private static final Logger log = LoggerFactory.getLogger(FanoutEndpoint.class);

  /** Close code for a connection whose pong is late; an application code (4000-4999). */
  static final int HEARTBEAT_TIMEOUT = 4001;

  /** Close code for a connection whose credentials expired (see Authentication#allowUntil). */
  static final int CREDENTIALS_EXPIRED = 4003;

  private final FanoutWebSocket ws;
  /** What this connection's pings carry: a pong counts only when it carries it back. */
  private final byte[] pingPayload = new byte[8];
  private volatile Session session;
  private volatile Connection connection;
  private volatile long lastPong;
  private volatile long unansweredSince; // when the first ping since the last pong left; 0 none
  private final AtomicBoolean pinging = new AtomicBoolean(); // a ping is being written
  private String principal;
  private ScheduledFuture<?> expiry; // closes the connection when its credentials expire
  private String replayKey; // whose budget this connection's replays spend
  private EventFilter filter; // the consumer's per-connection filter, or null
  private RateLimiter limiter; // used on the session's message thread only
  private int protocolErrors;

  FanoutEndpoint(FanoutWebSocket ws) {
    this.ws = ws;
    ThreadLocalRandom.current().nextBytes(pingPayload);
  }

  @Override
  public void onOpen(Session session, EndpointConfig config) {
    this.session = session;
    Authentication auth = (Authentication) session.getUserProperties().get(FanoutWebSocket.AUTH_KEY);
    if (auth == null || !auth.allowed()) {
      SessionTransport.close(session, 1008, "not authenticated");
      return;
    }
    if (!ws.accepting()) {
      SessionTransport.close(session, 1001, "server shutting down");
      return;
    }
    principal = auth.principal();
    replayKey = replayKey(principal, session);
    try {
      filter = ws.filters.apply(auth);
    } catch (RuntimeException e) {
      log.warn("the per-connection filter factory threw for {}; closing", principal, e);
      SessionTransport.close(session, 1011, "internal error");
      principal = null;
      return;
    }
    if (!ws.admit(this, principal)) {
      principal = null;
      SessionTransport.close(session, 1013, "connection limit reached");
      return;
    }
    // The container may buffer up to 4x the limit, so that fanout's own check below closes with
    // its documented reason; only a message larger still is refused in the container's words.
    session.setMaxTextMessageBufferSize((int) Math.min(Integer.MAX_VALUE, ws.maxMessageBytes * 4L));
    session.setMaxBinaryMessageBufferSize(64);
    long now = System.nanoTime();
    lastPong = now;
    limiter = new RateLimiter(ws.subscribesPerSecond, ws.subscribeBurst, now);
    SessionTransport transport = new SessionTransport(session, ws.closer);
    connection = ws.backpressure == null
        ? ws.hub.connect(transport, auth.scope())
        : ws.hub.connect(transport, auth.scope(), ws.backpressure);
    if (auth.expiresAt() != null) {
      long delay = Math.max(0, Duration.between(Instant.now(), auth.expiresAt()).toMillis());
      try {
        expiry = ws.scheduler.schedule(this::expire, delay, TimeUnit.MILLISECONDS);
      } catch (RejectedExecutionException shuttingDown) {
        expire();
      }
    }
    session.addMessageHandler(String.class, this::onText);
    session.addMessageHandler(ByteBuffer.class, b ->
        SessionTransport.close(session, 1003, "binary messages are not supported"));
    session.addMessageHandler(PongMessage.class, this::onPong);
  }

  /**
   * Only a pong that answers this server's ping proves the client reads: one sent unasked (or
   * echoing anything else) leaves the heartbeat where it was.
   */
  private void onPong(PongMessage pong) {
    ByteBuffer data = pong.getApplicationData();
    if (data != null && data.remaining() == pingPayload.length
        && data.equals(ByteBuffer.wrap(pingPayload))) {
      lastPong = System.nanoTime();
    }
  }

  private void onText(String text) {
    Connection c = connection;
    if (c == null || !c.isOpen()) {
      return;
    }
    // Containers differ in how they enforce the buffer size set in onOpen; this check does not.
    if (text.length() > ws.maxMessageBytes
        || text.getBytes(StandardCharsets.UTF_8).length > ws.maxMessageBytes) {
      c.close(1009, "message larger than " + ws.maxMessageBytes + " bytes");
      return;
    }
    if (!limiter.tryAcquire(System.nanoTime())) {
      reject(c, "rate_limited", "too many subscribes; slow down");
      return;
    }
    ClientMessage msg;
    try {
      msg = ClientMessage.parse(text, ws.maxMerchants, ws.maxMethods);
    } catch (ClientMessage.ProtocolError e) {
      reject(c, e.code, e.getMessage());
      return;
    }
    Scope scope = c.scope();
    if (!scope.isAll()) {
      for (String m : msg.merchants) {
        if (!scope.allows(m)) {
          reject(c, "forbidden", "merchant '" + ClientMessage.abbreviate(m)
              + "' is not in your scope");
          return;
        }
      }
    }
    Subscription.Builder sub = Subscription.builder().topics(msg.merchants)
        .attribute(Protocol.METHOD_ATTRIBUTE, msg.methods)
        .filter(filter);
    if (msg.lastEventId == null) { // a snapshot: bounded by its size and the subscribe rate
      c.subscribe(sub.build(), null);
      return;
    }
    String refused = ws.replays.tryBegin(replayKey, System.nanoTime());
    if (refused != null) {
      c.close(1013, refused);
      return;
    }
    long before = c.replayedEvents();
    try {
      c.subscribe(sub.build(), msg.lastEventId);
    } finally {
      ws.replays.end(replayKey, c.replayedEvents() - before, System.nanoTime());
    }
  }

  /**
   * The principal, or for anonymous clients (everyone has the same principal then) the client's
   * address, where the container tells it (Jetty, Tomcat and Tyrus put an InetSocketAddress in
   * the session's user properties).
   */
  private static String replayKey(String principal, Session session) {
    if (!Authentication.ANONYMOUS.equals(principal)) {
      return "principal:" + principal;
    }
    for (Map.Entry<String, Object> e : session.getUserProperties().entrySet()) {
      if (e.getKey().endsWith("remoteAddress") && e.getValue() instanceof InetSocketAddress a
          && a.getAddress() != null) {
        return "address:" + a.getAddress().getHostAddress();
      }
    }
    return "principal:" + principal;
  }

  private void reject(Connection c, String code, String message) {
    JsonObject error = new JsonObject();
    error.addProperty("type", "error");
    error.addProperty("code", code);
    error.addProperty("message", message);
    c.sendControl(error.toString());
    if (++protocolErrors > ws.maxProtocolErrors) {
      c.close(1008, "too many bad messages");
    }
  }

  /**
   * One heartbeat tick, on the shared heartbeat thread: it must never wait on this connection.
   * Some containers block in {@code sendPing} while the peer is not reading (Jetty 12 does,
   * behind unread data), so the ping is written on the pinger threads, one at a time per
   * connection, and the timeout counts from when a ping actually left. A connection whose data
   * has waited longer than the timeout to be written is not reading: it is closed without
   * pinging it.
   */
  void heartbeat(long now, long timeoutNanos) {
    Session s = session;
    if (s == null || !s.isOpen()) {
      return;
    }
    Connection c = connection;
    if (c != null && c.sendWaitingNanos(now) > timeoutNanos) {
      timeout(s, "not reading: a frame has waited " + c.sendWaitingNanos(now) / 1_000_000
          + " ms to be written");
      return;
    }
    long since = unansweredSince;
    if (since != 0 && lastPong < since && now - since > timeoutNanos) {
      timeout(s, "no pong " + (now - since) / 1_000_000 + " ms after a ping");
      return;
    }
    if (!pinging.compareAndSet(false, true)) {
      return; // the last ping is still being written: this connection is busy, not the thread
    }
    try {
      ws.pinger.execute(() -> {
        try {
          s.getAsyncRemote().sendPing(ByteBuffer.wrap(pingPayload));
          long sent = System.nanoTime();
          if (lastPong >= unansweredSince) { // answered (or none yet): the wait starts here
            unansweredSince = sent;
          }
        } catch (IOException | RuntimeException e) {
          log.debug("session {}: ping failed", s.getId(), e);
        } finally {
          pinging.set(false);
        }
      });
    } catch (RejectedExecutionException shuttingDown) {
      pinging.set(false);
    }
  }

  private void expire() {
    Connection c = connection;
    if (c != null) {
      c.close(CREDENTIALS_EXPIRED, "credentials expired");
    }
  }

  private void timeout(Session s, String why) {
    log.debug("session {}: {}; closing", s.getId(), why);
    Connection c = connection;
    if (c != null) {
      c.close(HEARTBEAT_TIMEOUT, "heartbeat timeout");
    } else {
      SessionTransport.close(s, HEARTBEAT_TIMEOUT, "heartbeat timeout");
    }
  }

  @Override
  public void onClose(Session session, CloseReason closeReason) {
    if (principal != null) { // an admitted connection, not a refused or capped one
      ws.closed(closeReason.getCloseCode().getCode());
    }
    ScheduledFuture<?> e = expiry;
    if (e != null) {
      e.cancel(false);
    }
    Connection c = connection;
    if (c != null) {
      c.transportClosed();
    }
    if (principal != null) {
      ws.release(this, principal);
    }
  }

  @Override
  public void onError(Session session, Throwable failure) {
    log.debug("session {}: {}", session.getId(), failure.toString());
  }

  @Override
  public String toString() {
    Session s = session;
    return "FanoutEndpoint{" + (s == null ? "-" : s.getId()) + ", " + principal + "}";
  }
}
