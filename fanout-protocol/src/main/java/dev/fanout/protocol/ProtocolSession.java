package dev.fanout.protocol;

import dev.fanout.core.Connection;
import dev.fanout.core.EventFilter;
import dev.fanout.core.Scope;
import dev.fanout.core.Subscription;
import dev.fanout.core.Transport;
import dev.fanout.core.internal.Scheduler;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One connection speaking protocol v1, whatever the transport: obtained from {@link
 * FanoutNode#open}, it is told what arrived on the socket and decides everything else
 * (subscribes, errors, pings, heartbeat timeouts, closes). An adapter calls {@link
 * #textReceived} and {@link #pongReceived} from one thread at a time (its message thread), and
 * {@link #closed} once when the socket is gone.
 */
public final class ProtocolSession {
  private static final Logger log = LoggerFactory.getLogger(ProtocolSession.class);

  /** Close code for a connection whose pong is late; an application code (4000-4999). */
  public static final int HEARTBEAT_TIMEOUT = 4001;

  /** Close code for a connection whose credentials expired (see Authentication#allowUntil). */
  public static final int CREDENTIALS_EXPIRED = 4003;

  private static final int MAX_REASON_BYTES = 123; // RFC 6455: a close reason fits in 125 bytes

  private final FanoutNode node;
  private final ProtocolSocket socket;
  private final String principal; // null: refused at open, never admitted
  private final String replayKey; // whose budget this connection's replays spend
  /** What this connection's pings carry: a pong counts only when it carries it back. */
  private final byte[] pingPayload = new byte[8];
  private final AtomicBoolean pinging = new AtomicBoolean(); // a ping is being written
  private static final int OPEN = 0;
  private static final int CLOSING = 1; // the node closed it; the socket is not gone yet
  private static final int GONE = 2; // the transport said the socket is gone
  private final AtomicInteger state = new AtomicInteger(OPEN);
  private volatile Connection connection;
  private volatile long lastPong;
  private volatile long unansweredSince; // when the first ping since the last pong left; 0 none
  private volatile Scheduler.Cancellable expiry; // closes the connection when credentials expire
  private EventFilter filter; // the consumer's per-connection filter, or null
  private RateLimiter limiter; // used on the message thread only
  private int protocolErrors;

  ProtocolSession(FanoutNode node, ProtocolSocket socket, String principal,
      InetSocketAddress remote) {
    this.node = node;
    this.socket = socket;
    this.principal = principal;
    this.replayKey = principal == null ? null : replayKey(principal, remote);
    ThreadLocalRandom.current().nextBytes(pingPayload);
  }

  /** Called by {@link FanoutNode#open} once admitted; false when the session closed itself. */
  boolean start(Authentication auth) {
    try {
      filter = node.settings.filters.apply(auth);
    } catch (RuntimeException e) {
      log.warn("the per-connection filter factory threw for {}; closing", principal, e);
      closeSocket(1011, "internal error");
      return false;
    }
    long now = now();
    lastPong = now;
    limiter = new RateLimiter(node.settings.subscribesPerSecond(), node.settings.subscribeBurst(),
        now);
    Transport transport = new Transport() {
      @Override
      public void send(String frame, SendCallback done) {
        socket.send(frame, done);
      }

      @Override
      public boolean sendAll(List<String> frames, SendCallback done) {
        return socket.sendAll(frames, done);
      }

      @Override
      public void close(int code, String reason) {
        closeSocket(code, reason);
      }
    };
    connection = node.hub.connect(transport, auth.scope());
    if (auth.expiresAt() != null) {
      long delay = Math.max(0, Duration.between(Instant.now(), auth.expiresAt()).toNanos());
      try {
        expiry = node.threads.scheduler().schedule(this::expire, delay);
      } catch (RejectedExecutionException shuttingDown) {
        expire();
      }
    }
    return true;
  }

  /** A text frame arrived. */
  public void textReceived(String text) {
    Connection c = connection;
    if (c == null || !c.isOpen()) {
      return;
    }
    int max = node.settings.maxMessageBytes();
    if (text.length() > max || text.getBytes(StandardCharsets.UTF_8).length > max) {
      c.close(1009, "message larger than " + max + " bytes");
      return;
    }
    if (!limiter.tryAcquire(now())) {
      reject(c, ErrorCode.RATE_LIMITED, "too many subscribes; slow down");
      return;
    }
    ClientMessage msg;
    try {
      msg = ClientMessage.parse(text, node.settings.limits, node.settings.vocabulary);
    } catch (ClientMessage.ProtocolError e) {
      reject(c, e.code, e.getMessage());
      return;
    }
    Scope scope = c.scope();
    if (!scope.isAll()) {
      for (String t : msg.topics) {
        if (!scope.allows(t)) {
          reject(c, ErrorCode.FORBIDDEN, "topic '" + ClientMessage.abbreviate(t)
              + "' is not in your scope");
          return;
        }
      }
    }
    Subscription.Builder sub = Subscription.builder().topics(msg.topics).filter(filter);
    for (Map.Entry<String, List<String>> f : msg.filters.entrySet()) {
      sub.attribute(f.getKey(), f.getValue());
    }
    if (msg.lastEventId == null) { // a snapshot: bounded by its size and the subscribe rate
      c.subscribeAsync(sub.build(), null);
      return;
    }
    String refused = node.replays.tryBegin(replayKey, now());
    if (refused != null) {
      c.close(1013, refused);
      return;
    }
    long before = c.replayedEvents();
    // History is read on the hub's threads; the replay counts once it is queued to the client.
    c.resumeAsync(sub.build(), msg.lastEventId).whenComplete((recovered, failure) ->
        node.replays.end(replayKey, c.replayedEvents() - before, now()));
  }

  /** Whether the node has not closed this session (one refused at open is closed at once). */
  boolean isOpen() {
    return state.get() == OPEN;
  }

  /** A binary frame arrived: protocol v1 has none, so the connection is closed with 1003. */
  public void binaryReceived() {
    close(1003, "binary messages are not supported");
  }

  /**
   * A pong arrived. Only one that answers this session's ping proves the client reads: one sent
   * unasked (or echoing anything else) leaves the heartbeat where it was.
   */
  public void pongReceived(ByteBuffer data) {
    if (data != null && data.remaining() == pingPayload.length
        && data.equals(ByteBuffer.wrap(pingPayload))) {
      lastPong = now();
    }
  }

  /**
   * The socket is gone, closed with {@code code} by either side or the network (1006). A
   * connection the peer ended is counted under its code here; one the node closed was counted
   * under the node's code when it closed it, and is no longer a closing socket.
   */
  public void closed(int code) {
    int was = state.getAndSet(GONE);
    if (was == OPEN) {
      end(code);
    } else if (was == CLOSING && principal != null) {
      node.admission.socketGone();
    }
    Connection c = connection;
    if (c != null) {
      c.transportClosed();
    }
  }

  /**
   * Ends the session once, whoever ended it: the hub forgets it, its slots are free, its close
   * is counted and its expiry called off.
   */
  private void end(int code) {
    Scheduler.Cancellable e = expiry;
    if (e != null) {
      e.cancel();
    }
    if (principal != null) { // an admitted connection, not a refused or capped one
      node.admission.release(this, principal);
      node.closed(code);
    }
  }

  /** Closes the connection from the server's side (the hub forgets it first). */
  void close(int code, String reason) {
    Connection c = connection;
    if (c != null) {
      c.close(code, reason);
    } else {
      closeSocket(code, reason);
    }
  }

  /**
   * Every close the node decides comes here, whatever its code (a limit, the heartbeat, expiry,
   * backpressure, shutdown): the connection's slots are free and its close counted at once, then
   * the socket is closed on the node's close threads (a socket may block in it) within the close
   * deadline, even if the peer never answers. Nothing is written to it after this.
   */
  void closeSocket(int code, String reason) {
    if (!state.compareAndSet(OPEN, CLOSING)) {
      return;
    }
    if (principal != null) { // before its slot is free: counted apart until the socket is gone
      node.admission.socketClosing();
    }
    end(code);
    String why = truncate(reason);
    Duration deadline = node.settings.closeDeadline();
    try {
      node.threads.closes().execute(() -> {
        try {
          socket.close(code, why, deadline);
        } catch (Exception e) {
          log.debug("{}: close failed", this, e);
        }
      });
    } catch (RejectedExecutionException shutDown) {
      log.debug("{}: not closed with {}: the node is shut down", this, code);
    }
  }

  private long now() {
    return node.threads.scheduler().nanoTime();
  }

  /**
   * The principal, or for anonymous clients (everyone has the same principal then) the client's
   * address, where the transport tells it.
   */
  private static String replayKey(String principal, InetSocketAddress remote) {
    if (Authentication.ANONYMOUS.equals(principal) && remote != null
        && remote.getAddress() != null) {
      return "address:" + remote.getAddress().getHostAddress();
    }
    return "principal:" + principal;
  }

  private void reject(Connection c, ErrorCode code, String message) {
    c.sendError(code.wire(), message);
    if (++protocolErrors > node.settings.maxProtocolErrors()) {
      c.close(1008, "too many bad messages");
    }
  }

  /**
   * One heartbeat tick, on the shared heartbeat thread: it must never wait on this connection.
   * Some sockets block in a ping while the peer is not reading (Jetty 12 does, behind unread
   * data), so the ping is written on the ping threads, one at a time per connection, and the
   * timeout counts from when a ping actually left. A connection whose data has waited the
   * timeout to be written is not reading: it is closed without pinging it. Either way a client
   * that reads nothing is closed at the first tick at least the timeout after its first ping or
   * its stuck write (interval + timeout after it connected, at the latest), whatever its outbox
   * holds.
   */
  void heartbeat(long now, long timeoutNanos) {
    if (state.get() != OPEN) {
      return;
    }
    Connection c = connection;
    if (c != null && c.sendWaitingNanos(now) >= timeoutNanos) {
      timeout("not reading: a frame has waited " + c.sendWaitingNanos(now) / 1_000_000
          + " ms to be written");
      return;
    }
    long since = unansweredSince;
    if (since != 0 && lastPong < since && now - since >= timeoutNanos) {
      timeout("no pong " + (now - since) / 1_000_000 + " ms after a ping");
      return;
    }
    if (!pinging.compareAndSet(false, true)) {
      return; // the last ping is still being written: this connection is busy, not the thread
    }
    try {
      node.threads.pings().execute(() -> {
        try {
          socket.ping(pingPayload.clone());
          long sent = now();
          if (lastPong >= unansweredSince) { // answered (or none yet): the wait starts here
            unansweredSince = sent;
          }
        } catch (Exception e) {
          log.debug("{}: ping failed", this, e);
        } finally {
          pinging.set(false);
        }
      });
    } catch (RejectedExecutionException shuttingDown) {
      pinging.set(false);
    }
  }

  /** {@link ProtocolSocket#transport()} of this session's socket. */
  String transport() {
    return socket.transport();
  }

  /** The SSE heartbeat's pass, on a ping thread: an open stream writes a comment if idle. */
  void keepAlive() {
    if (state.get() == OPEN) {
      socket.keepAlive();
    }
  }

  private void expire() {
    close(CREDENTIALS_EXPIRED, "credentials expired");
  }

  private void timeout(String why) {
    log.debug("{}: {}; closing", this, why);
    close(HEARTBEAT_TIMEOUT, "heartbeat timeout");
  }

  static String truncate(String reason) {
    if (reason.getBytes(StandardCharsets.UTF_8).length <= MAX_REASON_BYTES) {
      return reason;
    }
    String cut = reason;
    while (cut.getBytes(StandardCharsets.UTF_8).length > MAX_REASON_BYTES) {
      cut = cut.substring(0, cut.length() - 1);
    }
    return cut;
  }

  @Override
  public String toString() {
    Connection c = connection;
    return "ProtocolSession{" + (c == null ? "-" : c.id()) + ", " + principal + "}";
  }
}
