package dev.fanout.protocol;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Who may connect: the Origin allow-list, the {@link Authenticator}, the connection caps (all,
 * and per principal) and the node's accepting state; refusals are counted. Holds the admitted
 * sessions, which the heartbeat and the paced shutdown go through. Thread-safe.
 */
final class Admission {
  private static final Logger log = LoggerFactory.getLogger(FanoutNode.class);

  private final Authenticator authenticator;
  private final OriginPolicy origins;
  private final int maxConnections;
  private final int maxConnectionsPerPrincipal;
  private final ProtocolMetrics metrics;
  private final Refusals refusals = new Refusals();
  private final Set<ProtocolSession> sessions = ConcurrentHashMap.newKeySet();
  private final AtomicInteger eventStreams = new AtomicInteger(); // of the open ones: SSE
  private final AtomicInteger open = new AtomicInteger();
  private final Set<ProtocolSession> warmups = ConcurrentHashMap.newKeySet(); // not clients
  private final AtomicInteger closing = new AtomicInteger(); // closed by the node, socket not gone
  private final Map<String, AtomicInteger> perPrincipal = new ConcurrentHashMap<>();
  private volatile String refusing = "server starting"; // null while accepting
  private volatile long lastAuthenticatorFailureLog;

  Admission(NodeSettings settings, ProtocolMetrics metrics) {
    this.authenticator = settings.authenticator();
    this.origins = new OriginPolicy(settings.allowedOrigins(), settings.allowMissingOrigin());
    this.maxConnections = settings.maxConnections();
    this.maxConnectionsPerPrincipal = settings.maxConnectionsPerPrincipal();
    this.metrics = metrics;
  }

  /** From now on handshakes may proceed. */
  void accept() {
    refusing = null;
  }

  /** From now on handshakes are refused with 503 and {@code reason}. */
  void refuse(String reason) {
    refusing = Objects.requireNonNull(reason, "reason");
  }

  boolean accepting() {
    return refusing == null;
  }

  /** Whether a handshake from {@code origin} may proceed; a refusal is counted. */
  boolean allowsOrigin(String origin) {
    boolean ok = origins.allows(origin);
    if (!ok) {
      refused(403, "origin not allowed");
    }
    return ok;
  }

  /** Not accepting, at the cap, Origin, then the authenticator; a refusal is counted. */
  Authentication check(Handshake handshake) {
    Authentication auth = evaluate(handshake);
    if (!auth.allowed()) {
      refused(auth.status(), auth.reason());
    }
    return auth;
  }

  /** What {@link #check} answers, without counting a refusal (for {@link HandshakeCheck}). */
  Authentication evaluate(Handshake handshake) {
    String notAccepting = refusing;
    Authentication auth;
    if (notAccepting != null) {
      auth = Authentication.refused(503, notAccepting);
    } else if (open.get() >= maxConnections) {
      auth = Authentication.refused(503, "connection limit reached");
    } else if (!origins.allowsHeaders(handshake.headers("Origin"))) { // two Origin headers: refused
      auth = Authentication.forbidden("origin not allowed");
    } else {
      auth = authenticate(handshake);
    }
    return auth;
  }

  private Authentication authenticate(Handshake handshake) {
    try {
      return Objects.requireNonNull(authenticator.authenticate(handshake),
          "authenticator returned null");
    } catch (RuntimeException e) {
      long now = System.nanoTime();
      long every = TimeUnit.SECONDS.toNanos(Refusals.LOG_EVERY_SECONDS);
      if (now - lastAuthenticatorFailureLog > every) {
        lastAuthenticatorFailureLog = now; // a racy guard is enough: a rare extra line at most
        log.warn("authenticator {} threw; refusing the handshake (logged at most every {} s)",
            authenticator, Refusals.LOG_EVERY_SECONDS, e);
      }
      return Authentication.unauthorized("authentication failed");
    }
  }

  /** Counts a refused handshake (and tells the metrics). */
  void refused(int status, String reason) {
    refusals.count(status, reason);
    try {
      metrics.handshakeRefused(status, reason);
    } catch (RuntimeException e) {
      log.debug("metrics failed on a refused handshake", e);
    }
  }

  /**
   * Counts a new session against the caps; false when a cap is reached. A warm-up session is
   * held apart: not a client, not under the caps.
   */
  boolean admit(ProtocolSession session, String principal, boolean warmup) {
    if (warmup) {
      warmups.add(session);
      sessions.add(session);
      return true;
    }
    if (open.incrementAndGet() > maxConnections) {
      open.decrementAndGet();
      return false;
    }
    AtomicInteger mine = perPrincipal.computeIfAbsent(principal, k -> new AtomicInteger());
    if (mine.incrementAndGet() > maxConnectionsPerPrincipal) {
      mine.decrementAndGet();
      open.decrementAndGet();
      return false;
    }
    sessions.add(session);
    if (ProtocolSocket.SSE.equals(session.transport())) {
      eventStreams.incrementAndGet();
    }
    return true;
  }

  /** Frees an admitted session's slots; once, however often it is called. */
  void release(ProtocolSession session, String principal) {
    if (sessions.remove(session) && !warmups.remove(session)) {
      open.decrementAndGet();
      if (ProtocolSocket.SSE.equals(session.transport())) {
        eventStreams.decrementAndGet();
      }
      perPrincipal.computeIfPresent(principal, (k, n) -> n.decrementAndGet() == 0 ? null : n);
    }
  }

  /** The node closed an admitted session whose socket is not gone yet. */
  void socketClosing() {
    closing.incrementAndGet();
  }

  /** A socket the node closed is gone. */
  void socketGone() {
    closing.decrementAndGet();
  }

  /** Sockets the node closed that are not gone yet: they hold a file each, for a deadline. */
  int closingSockets() {
    return Math.max(0, closing.get());
  }

  /** The admitted sessions now (a copy). */
  List<ProtocolSession> sessions() {
    return List.copyOf(sessions);
  }

  /** Admitted sessions, live. */
  Collection<ProtocolSession> liveSessions() {
    return sessions;
  }

  int connectionCount() {
    return open.get();
  }

  /** {@link #connectionCount()} by {@link ProtocolSocket#transport()}. */
  Map<String, Integer> connectionsByTransport() {
    int sse = eventStreams.get();
    return Map.of(ProtocolSocket.WEBSOCKET, Math.max(0, open.get() - sse),
        ProtocolSocket.SSE, sse);
  }

  Map<String, Long> refusedHandshakes() {
    return refusals.totals();
  }
}
