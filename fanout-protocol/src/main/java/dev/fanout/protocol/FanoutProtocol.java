package dev.fanout.protocol;

import dev.fanout.core.Backpressure;
import dev.fanout.core.EventFilter;
import dev.fanout.core.Hub;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Protocol v1 over a {@link Hub}, for any transport: the handshake checks (Origin allow-list,
 * {@link Authenticator}, connection caps, shutdown), the client messages and their limits, error
 * frames, heartbeats, credential expiry and paced shutdown. A transport adapter (fanout-jakarta's
 * {@code FanoutWebSocket}) calls {@link #check} during the handshake and {@link #open} once the
 * socket is up, then feeds the returned {@link ProtocolSession} what arrives.
 *
 * <pre>{@code
 * FanoutProtocol protocol = FanoutProtocol.builder(hub)
 *     .allowedOrigins("https://ops.example.com")
 *     .authenticator(myAuthenticator)
 *     .build();
 * FanoutWebSocket ws = FanoutWebSocket.builder(protocol).path("/ws").build();
 * ...
 * protocol.shutdown(Duration.ofSeconds(5));   // 1001 Going Away to its clients, paced
 * }</pre>
 *
 * <p>A subscribe is {@code {"type":"subscribe","topics":[...],"filters":{"<attribute>":[...]},
 * "lastEventId":...}}; {@link Builder#topicAlias} and {@link Builder#filterAlias} let clients
 * use a deployment's own words as well (docs/protocol.md).
 */
public final class FanoutProtocol implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(FanoutProtocol.class);

  /** Threads writing pings; a stalled peer can hold one only until the heartbeat closes it. */
  static final int PINGER_THREADS = 4;

  final Hub hub;
  private final Authenticator authenticator;
  private final OriginPolicy origins;
  final Backpressure backpressure; // null = the hub's
  final Function<Authentication, EventFilter> filters;
  private final int maxConnections;
  private final int maxConnectionsPerPrincipal;
  final int maxMessageBytes;
  final ClientMessage.Limits limits;
  final Vocabulary vocabulary;
  final double subscribesPerSecond;
  final int subscribeBurst;
  final int maxProtocolErrors;
  final ReplayBudget replays;
  private final Duration heartbeatTimeout;
  private final List<AutoCloseable> closeOnShutdown;
  private final ProtocolMetrics metrics;

  final ScheduledExecutorService scheduler; // heartbeat ticks, credential expiries
  final ExecutorService closer;
  /** Writes pings, so the heartbeat thread never waits on a connection. */
  final ExecutorService pinger;
  private final Set<ProtocolSession> sessions = ConcurrentHashMap.newKeySet();
  private final AtomicInteger open = new AtomicInteger();
  private final Map<String, AtomicInteger> perPrincipal = new ConcurrentHashMap<>();
  private final AtomicBoolean accepting = new AtomicBoolean(true);
  private final Refusals refusals = new Refusals();
  private final Map<Integer, LongAdder> closes = new ConcurrentHashMap<>();
  private volatile long lastAuthenticatorFailureLog;

  private FanoutProtocol(Builder b) {
    this.hub = b.hub;
    this.authenticator = b.authenticator;
    this.origins = new OriginPolicy(b.allowedOrigins, b.allowMissingOrigin);
    this.backpressure = b.backpressure;
    this.filters = b.filters;
    this.maxConnections = b.maxConnections;
    this.maxConnectionsPerPrincipal = b.maxConnectionsPerPrincipal;
    this.maxMessageBytes = b.maxMessageBytes;
    this.limits = new ClientMessage.Limits(b.maxTopics, b.maxFilterAttributes,
        b.maxFilterValues);
    this.vocabulary = new Vocabulary(b.topicAliases, b.filterAliases);
    this.subscribesPerSecond = b.subscribesPerSecond;
    this.subscribeBurst = b.subscribeBurst;
    this.maxProtocolErrors = b.maxProtocolErrors;
    this.replays = new ReplayBudget(b.replayPerSecond, b.replayBurst, b.maxConcurrentReplays);
    this.heartbeatTimeout = b.heartbeatTimeout;
    this.closeOnShutdown = List.copyOf(b.closeOnShutdown);
    this.metrics = b.metrics;
    ScheduledThreadPoolExecutor timer = new ScheduledThreadPoolExecutor(1, daemon("heartbeat"));
    timer.setRemoveOnCancelPolicy(true); // an expiry cancelled on close must not linger for hours
    this.scheduler = timer;
    this.closer = Executors.newFixedThreadPool(2, daemon("close"));
    this.pinger = Executors.newFixedThreadPool(PINGER_THREADS, daemon("ping"));
    long every = b.heartbeatInterval.toMillis();
    scheduler.scheduleAtFixedRate(this::heartbeat, every, every, TimeUnit.MILLISECONDS);
  }

  private static ThreadFactory daemon(String name) {
    return r -> {
      Thread t = new Thread(r, "fanout-" + name);
      t.setDaemon(true);
      return t;
    };
  }

  public static Builder builder(Hub hub) {
    return new Builder(hub);
  }

  /**
   * Whether a handshake from {@code origin} (null when the header is absent) may proceed, for a
   * transport that checks the Origin before it has the rest of the handshake; a refusal is
   * counted. {@link #check} checks the Origin again.
   */
  public boolean allowsOrigin(String origin) {
    boolean ok = origins.allows(origin);
    if (!ok) {
      refusedHandshake(403, "origin not allowed");
    }
    return ok;
  }

  /**
   * Runs the handshake checks: shutdown, connection cap, Origin, authentication. A refusal is
   * counted (and logged, a summary at most every few seconds); its {@link
   * Authentication#status()} is the HTTP status to answer (401, 403 or 503).
   */
  public Authentication check(Handshake handshake) {
    Authentication auth;
    if (!accepting.get()) {
      auth = Authentication.refused(503, "server shutting down");
    } else if (open.get() >= maxConnections) {
      auth = Authentication.refused(503, "connection limit reached");
    } else if (!origins.allowsHeaders(handshake.headers("Origin"))) { // two Origin headers: refused
      auth = Authentication.forbidden("origin not allowed");
    } else {
      auth = authenticate(handshake);
    }
    if (!auth.allowed()) {
      refusedHandshake(auth.status(), auth.reason());
    }
    return auth;
  }

  /**
   * Counts a handshake the adapter refused itself before {@link #check} (such as 426 for a
   * WebSocket version other than 13), so that {@link #refusedHandshakes()} tells every refusal.
   */
  public void refused(int status, String reason) {
    refusedHandshake(status, reason);
  }

  private void refusedHandshake(int status, String reason) {
    refusals.count(status, reason);
    try {
      metrics.handshakeRefused(status, reason);
    } catch (RuntimeException e) {
      log.debug("metrics failed on a refused handshake", e);
    }
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

  /**
   * A socket is up: admits it (or closes it: 1008 without an allowed {@code auth}, 1001 while
   * shutting down, 1013 at a connection cap) and returns its session, which the adapter tells
   * what arrives. Never null: a refused session is closed and ignores what it is told.
   *
   * @param auth what {@link #check} returned for this socket's handshake
   * @param remote the peer's address, or null (replay budgets of anonymous clients use it)
   */
  public ProtocolSession open(Authentication auth, InetSocketAddress remote,
      ProtocolSocket socket) {
    Objects.requireNonNull(socket, "socket");
    if (auth == null || !auth.allowed()) {
      return refusedSession(socket, 1008, "not authenticated");
    }
    if (!accepting.get()) {
      return refusedSession(socket, 1001, "server shutting down");
    }
    String principal = auth.principal();
    ProtocolSession session = new ProtocolSession(this, socket, principal, remote);
    if (!admit(session, principal)) {
      return refusedSession(socket, 1013, "connection limit reached");
    }
    if (!session.start(auth)) {
      release(session, principal);
    }
    return session;
  }

  private ProtocolSession refusedSession(ProtocolSocket socket, int code, String reason) {
    ProtocolSession s = new ProtocolSession(this, socket, null, null);
    s.closeSocket(code, reason);
    return s;
  }

  /** The largest client message, in bytes: an adapter may let its socket buffer more. */
  public int maxMessageBytes() {
    return maxMessageBytes;
  }

  /**
   * Handshakes refused so far, by status and reason (for example {@code "401 invalid token"}).
   */
  public Map<String, Long> refusedHandshakes() {
    return refusals.totals();
  }

  /**
   * Connections closed so far, by close code (1000 normal, 1001 going away, 1006 abnormal, 1008,
   * 1009, 1013, 4001 heartbeat timeout, 4003 credentials expired...; protocol.md), whoever closed.
   */
  public Map<Integer, Long> closesByCode() {
    Map<Integer, Long> copy = new TreeMap<>();
    closes.forEach((code, n) -> copy.put(code, n.sum()));
    return copy;
  }

  void closed(int code) {
    closes.computeIfAbsent(code, c -> new LongAdder()).increment();
    try {
      metrics.connectionClosed(code);
    } catch (RuntimeException e) {
      log.debug("metrics failed on a close", e);
    }
  }

  /** Open connections of this protocol instance. */
  public int connectionCount() {
    return open.get();
  }

  /** Whether handshakes are accepted: true until {@link #shutdown}. */
  public boolean accepting() {
    return accepting.get();
  }

  /**
   * Stops accepting connections and closes this protocol's connections (not other connections
   * of the hub) with 1001 Going Away, spread over {@code spread} so clients do not all reconnect
   * at once; then stops its threads and closes what {@link Builder#closeOnShutdown} named, in
   * order. Blocks for about {@code spread}. Call it before stopping the server the transport
   * runs on, so the 1001s still go out; a second call does nothing.
   */
  public void shutdown(Duration spread) {
    if (!accepting.getAndSet(false)) {
      return;
    }
    List<ProtocolSession> all = List.copyOf(sessions);
    long spreadNanos = Math.max(0, spread.toNanos());
    long start = System.nanoTime();
    for (int i = 0; i < all.size(); i++) {
      long due = start + (all.size() <= 1 ? 0 : spreadNanos * i / (all.size() - 1));
      long wait;
      while ((wait = due - System.nanoTime()) > 0 && !Thread.currentThread().isInterrupted()) {
        LockSupport.parkNanos(wait);
      }
      all.get(i).close(1001, "server shutting down");
    }
    scheduler.shutdownNow();
    pinger.shutdownNow();
    closer.shutdown();
    try {
      if (!closer.awaitTermination(5, TimeUnit.SECONDS)) {
        log.warn("some connections did not close within 5 s of shutdown");
        closer.shutdownNow();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      closer.shutdownNow();
    }
    for (AutoCloseable resource : closeOnShutdown) {
      try {
        resource.close();
      } catch (Exception e) {
        log.warn("closing {} on shutdown failed", resource, e);
      }
    }
  }

  /** {@link #shutdown} with no spread. */
  @Override
  public void close() {
    shutdown(Duration.ZERO);
  }

  /** Counts a new connection against the caps; false when a cap is reached. */
  private boolean admit(ProtocolSession session, String principal) {
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
    return true;
  }

  void release(ProtocolSession session, String principal) {
    if (sessions.remove(session)) {
      open.decrementAndGet();
      perPrincipal.computeIfPresent(principal, (k, n) -> n.decrementAndGet() == 0 ? null : n);
    }
  }

  private void heartbeat() {
    long now = System.nanoTime();
    long timeout = heartbeatTimeout.toNanos();
    for (ProtocolSession s : sessions) {
      try {
        s.heartbeat(now, timeout);
      } catch (RuntimeException ex) {
        log.debug("heartbeat failed for {}", s, ex);
      }
    }
  }

  /** Builds a {@link FanoutProtocol}; every setting has a default and is validated eagerly. */
  public static final class Builder {
    private final Hub hub;
    private Authenticator authenticator = Authenticator.allowAll();
    private List<String> allowedOrigins = List.of();
    private boolean allowMissingOrigin = true;
    private Backpressure backpressure;
    private Function<Authentication, EventFilter> filters = auth -> null;
    private int maxConnections = 100_000;
    private int maxConnectionsPerPrincipal = Integer.MAX_VALUE;
    private int maxMessageBytes = 4096;
    private int maxTopics = 1000;
    private int maxFilterAttributes = 8;
    private int maxFilterValues = 32;
    private final Set<String> topicAliases = new LinkedHashSet<>();
    private final Map<String, String> filterAliases = new LinkedHashMap<>();
    private double subscribesPerSecond = 5;
    private int subscribeBurst = 10;
    private int maxProtocolErrors = 20;
    private int replayPerSecond = 20_000;
    private int replayBurst = 100_000;
    private int maxConcurrentReplays = 10_000;
    private Duration heartbeatInterval = Duration.ofSeconds(30);
    private Duration heartbeatTimeout = Duration.ofSeconds(60);
    private final List<AutoCloseable> closeOnShutdown = new ArrayList<>();
    private ProtocolMetrics metrics = new ProtocolMetrics() {};

    private Builder(Hub hub) {
      this.hub = Objects.requireNonNull(hub, "hub");
    }

    /** Who may connect and what they may see; default {@link Authenticator#allowAll()}. */
    public Builder authenticator(Authenticator authenticator) {
      this.authenticator = Objects.requireNonNull(authenticator, "authenticator");
      return this;
    }

    /**
     * Browser origins allowed to connect, such as {@code https://ops.example.com} (scheme, host
     * and port, compared exactly, case-insensitively); {@code *} allows any. Default: none, so a
     * browser can connect only after you list its page's origin.
     */
    public Builder allowedOrigins(Collection<String> origins) {
      this.allowedOrigins = List.copyOf(OriginPolicy.validate(origins));
      return this;
    }

    public Builder allowedOrigins(String... origins) {
      return allowedOrigins(List.of(origins));
    }

    /**
     * Whether a handshake without an Origin header (non-browser clients) is accepted; default
     * true. Browsers always send Origin, so this does not weaken the browser check.
     */
    public Builder allowMissingOrigin(boolean allow) {
      this.allowMissingOrigin = allow;
      return this;
    }

    /** The backpressure policy of this protocol's connections; default the hub's. */
    public Builder backpressure(Backpressure backpressure) {
      this.backpressure = Objects.requireNonNull(backpressure, "backpressure");
      return this;
    }

    /**
     * A consumer-written {@link EventFilter} for each connection, chosen from its authentication
     * when it opens (null for none) and applied, on top of the client's topics and filters, to
     * every subscription of that connection. For example, hide refunds from a support role:
     * {@code filter(auth -> auth.principal().startsWith("support:") ? e -> !"refunded"
     * .equals(e.attribute("status")) : null)}. It runs guarded: if it throws, the event is not
     * delivered to that connection, and the failure is counted.
     */
    public Builder filter(Function<Authentication, EventFilter> perConnection) {
      this.filters = Objects.requireNonNull(perConnection, "perConnection");
      return this;
    }

    /** Most open connections; default 100,000. Over it, handshakes are refused with 503. */
    public Builder maxConnections(int max) {
      this.maxConnections = positive(max, "max connections");
      return this;
    }

    /** Most open connections per principal; default unlimited. */
    public Builder maxConnectionsPerPrincipal(int max) {
      this.maxConnectionsPerPrincipal = positive(max, "max connections per principal");
      return this;
    }

    /** Largest client message, in bytes; a larger one closes with 1009. Default 4096. */
    public Builder maxMessageBytes(int max) {
      this.maxMessageBytes = positive(max, "max message bytes");
      return this;
    }

    /** Most topics in one subscribe; default 1000. */
    public Builder maxTopics(int max) {
      this.maxTopics = positive(max, "max topics");
      return this;
    }

    /**
     * Most attributes one subscribe may filter on, and most values per attribute; default 8
     * and 32.
     */
    public Builder maxFilters(int attributes, int valuesPerAttribute) {
      this.maxFilterAttributes = positive(attributes, "max filter attributes");
      this.maxFilterValues = positive(valuesPerAttribute, "max filter values");
      return this;
    }

    /**
     * Lets a subscribe name its topics with {@code field} as well as {@code topics}: the example
     * server accepts {@code merchants}. A subscribe that uses both is a {@code bad_request}.
     */
    public Builder topicAlias(String field) {
      topicAliases.add(alias(field));
      return this;
    }

    /**
     * Lets a subscribe filter {@code attribute} with a top-level {@code field} as well as with
     * {@code filters.<attribute>}: the example server accepts {@code "methods":[...]} for {@code
     * "filters":{"method":[...]}}.
     */
    public Builder filterAlias(String field, String attribute) {
      Objects.requireNonNull(attribute, "attribute");
      if (attribute.isEmpty() || attribute.length() > ClientMessage.MAX_NAME_LENGTH) {
        throw new IllegalArgumentException("attribute must be 1 to "
            + ClientMessage.MAX_NAME_LENGTH + " characters, got '" + attribute + "'");
      }
      filterAliases.put(alias(field), attribute);
      return this;
    }

    private String alias(String field) {
      Objects.requireNonNull(field, "field");
      if (field.isEmpty() || Vocabulary.RESERVED.contains(field)
          || topicAliases.contains(field) || filterAliases.containsKey(field)) {
        throw new IllegalArgumentException("'" + field + "' cannot be an alias: it is empty, "
            + "a protocol field (" + String.join(", ", new TreeSet<>(Vocabulary.RESERVED))
            + ") or already an alias");
      }
      return field;
    }

    /**
     * The subscribe rate a connection may sustain, with a burst; default 5 per second, burst 10.
     * Faster ones get an error frame; a connection that keeps flooding is closed with 1008.
     */
    public Builder subscribeRate(double perSecond, int burst) {
      if (!(perSecond > 0)) {
        throw new IllegalArgumentException("subscribe rate must be positive, got " + perSecond);
      }
      this.subscribesPerSecond = perSecond;
      this.subscribeBurst = positive(burst, "subscribe burst");
      return this;
    }

    /** Bad messages tolerated per connection before it is closed with 1008; default 20. */
    public Builder maxProtocolErrors(int max) {
      this.maxProtocolErrors = positive(max, "max protocol errors");
      return this;
    }

    /**
     * What resumes may replay from history, per principal, or per address for anonymous clients
     * (behind a proxy every anonymous client has the proxy's address: authenticate, or size the
     * budget for all of them): {@code perSecond} events refilled up to {@code burst}. A resume
     * that finds its budget spent is closed with 1013, which clients retry with backoff. A
     * subscribe without {@code lastEventId} is not charged: its snapshot is bounded by the
     * hub's snapshot size and the subscribe rate. Default 20,000 events/s, burst 100,000.
     */
    public Builder replayBudget(int perSecond, int burst) {
      this.replayPerSecond = positive(perSecond, "replay events per second");
      this.replayBurst = positive(burst, "replay burst");
      return this;
    }

    /**
     * Resumes waiting for or reading history at once; one more is closed with 1013. Resumes
     * queue on the hub's history threads (each waits at most the hub's history deadline) and most
     * are answered from the node's memory in microseconds, so this bounds memory, not Redis load.
     * Default 10,000.
     */
    public Builder maxConcurrentReplays(int max) {
      this.maxConcurrentReplays = positive(max, "max concurrent replays");
      return this;
    }

    /**
     * Ping every {@code interval}; close a connection with 4001 when its last pong is older than
     * {@code timeout}. Default 30 s and 60 s.
     */
    public Builder heartbeat(Duration interval, Duration timeout) {
      Objects.requireNonNull(interval, "interval");
      Objects.requireNonNull(timeout, "timeout");
      if (interval.isNegative() || interval.isZero()) {
        throw new IllegalArgumentException("heartbeat interval must be positive, got " + interval);
      }
      if (timeout.compareTo(interval) <= 0) {
        throw new IllegalArgumentException("heartbeat timeout " + timeout
            + " must be longer than the interval " + interval);
      }
      this.heartbeatInterval = interval;
      this.heartbeatTimeout = timeout;
      return this;
    }

    /** Where refused handshakes and closes are reported as they happen; default nowhere. */
    public Builder metrics(ProtocolMetrics metrics) {
      this.metrics = Objects.requireNonNull(metrics, "metrics");
      return this;
    }

    /**
     * What {@link #shutdown} closes once every connection got its 1001, in the order given: the
     * one place that knows the order. Typically {@code closeOnShutdown(hub, bus,
     * senders::shutdown)}: the hub stops routing, the bus releases Redis, then the send threads
     * stop.
     */
    public Builder closeOnShutdown(AutoCloseable... inOrder) {
      for (AutoCloseable c : inOrder) {
        closeOnShutdown.add(Objects.requireNonNull(c, "resource"));
      }
      return this;
    }

    public FanoutProtocol build() {
      return new FanoutProtocol(this);
    }

    private static int positive(int n, String what) {
      if (n < 1) {
        throw new IllegalArgumentException(what + " must be at least 1, got " + n);
      }
      return n;
    }
  }
}
