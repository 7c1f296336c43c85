package dev.fanout.jakarta;

import dev.fanout.core.Backpressure;
import dev.fanout.core.EventFilter;
import dev.fanout.core.Hub;
import jakarta.websocket.Extension;
import jakarta.websocket.HandshakeResponse;
import jakarta.websocket.server.HandshakeRequest;
import jakarta.websocket.server.ServerEndpointConfig;
import java.net.URI;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The fanout WebSocket endpoint for any Jakarta WebSocket 2.1+ container (Tyrus, Jetty, Tomcat):
 * protocol v1 over a {@link Hub}. The entry point of fanout-jakarta.
 *
 * <pre>{@code
 * FanoutWebSocket ws = FanoutWebSocket.builder(hub)
 *     .path("/ws")
 *     .allowedOrigins("https://ops.example.com")
 *     .authenticator(myAuthenticator)
 *     .build();
 * serverContainer.addEndpoint(ws.endpointConfig());
 * ...
 * ws.shutdown(Duration.ofSeconds(5));   // 1001 Going Away to every client, paced
 * }</pre>
 *
 * <p>The handshake checks the Origin against the allow-list (403 before any upgrade), runs the
 * {@link Authenticator}, and enforces connection caps. Each connection then speaks protocol v1
 * (docs/protocol.md): {@code subscribe} in; {@code subscribed}, {@code event}, {@code batch},
 * {@code dropped}, {@code error} out. The server pings every {@code heartbeatInterval} and closes
 * a connection whose pong is {@code heartbeatTimeout} late.
 */
public final class FanoutWebSocket implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(FanoutWebSocket.class);

  static final String AUTH_KEY = "dev.fanout.authentication";
  /** Threads writing pings; a stalled peer can hold one only until the heartbeat closes it. */
  static final int PINGER_THREADS = 4;

  final Hub hub;
  final Authenticator authenticator;
  final OriginPolicy origins;
  final Backpressure backpressure; // null = the hub's
  final Function<Authentication, EventFilter> filters;
  final int maxConnections;
  final int maxConnectionsPerPrincipal;
  final int maxMessageBytes;
  final int maxMerchants;
  final int maxMethods;
  final double subscribesPerSecond;
  final int subscribeBurst;
  final int maxProtocolErrors;
  final ReplayBudget replays;
  private final boolean compression;
  final Duration heartbeatInterval;
  final Duration heartbeatTimeout;
  private final String path;

  final ScheduledExecutorService scheduler; // heartbeat ticks, credential expiries
  final ExecutorService closer;
  /** Writes pings, so the heartbeat thread never waits on a connection. */
  final ExecutorService pinger;
  private final Set<FanoutEndpoint> endpoints = ConcurrentHashMap.newKeySet();
  private final AtomicInteger open = new AtomicInteger();
  private final Map<String, AtomicInteger> perPrincipal = new ConcurrentHashMap<>();
  private final AtomicBoolean accepting = new AtomicBoolean(true);
  final Refusals refusals = new Refusals();
  private final Map<Integer, LongAdder> closes = new ConcurrentHashMap<>();
  private volatile long lastAuthenticatorFailureLog;

  private FanoutWebSocket(Builder b) {
    this.hub = b.hub;
    this.path = b.path;
    this.authenticator = b.authenticator;
    this.origins = new OriginPolicy(b.allowedOrigins, b.allowMissingOrigin);
    this.backpressure = b.backpressure;
    this.filters = b.filters;
    this.maxConnections = b.maxConnections;
    this.maxConnectionsPerPrincipal = b.maxConnectionsPerPrincipal;
    this.maxMessageBytes = b.maxMessageBytes;
    this.maxMerchants = b.maxMerchants;
    this.maxMethods = b.maxMethods;
    this.subscribesPerSecond = b.subscribesPerSecond;
    this.subscribeBurst = b.subscribeBurst;
    this.maxProtocolErrors = b.maxProtocolErrors;
    this.replays = new ReplayBudget(b.replayPerSecond, b.replayBurst, b.maxConcurrentReplays);
    this.compression = b.compression;
    this.heartbeatInterval = b.heartbeatInterval;
    this.heartbeatTimeout = b.heartbeatTimeout;
    ScheduledThreadPoolExecutor timer = new ScheduledThreadPoolExecutor(1, r -> {
      Thread t = new Thread(r, "fanout-heartbeat");
      t.setDaemon(true);
      return t;
    });
    timer.setRemoveOnCancelPolicy(true); // an expiry cancelled on close must not linger for hours
    this.scheduler = timer;
    this.closer = Executors.newFixedThreadPool(2, r -> {
      Thread t = new Thread(r, "fanout-close");
      t.setDaemon(true);
      return t;
    });
    this.pinger = Executors.newFixedThreadPool(PINGER_THREADS, r -> {
      Thread t = new Thread(r, "fanout-ping");
      t.setDaemon(true);
      return t;
    });
    long every = heartbeatInterval.toMillis();
    scheduler.scheduleAtFixedRate(this::heartbeat, every, every, TimeUnit.MILLISECONDS);
  }

  public static Builder builder(Hub hub) {
    return new Builder(hub);
  }

  /** The configuration to deploy: {@code serverContainer.addEndpoint(ws.endpointConfig())}. */
  public ServerEndpointConfig endpointConfig() {
    return ServerEndpointConfig.Builder.create(FanoutEndpoint.class, path)
        .configurator(new Configurator())
        .build();
  }

  /**
   * Runs the handshake checks (shutdown, connection cap, Origin, authentication) the way the
   * endpoint's configurator does, for an HTTP filter placed in front of the upgrade. The Jakarta
   * WebSocket API cannot choose the status of a refused handshake (containers answer 500, or
   * drop the connection); a filter that calls this first can answer the exact 401, 403 or 503.
   * The endpoint still checks again, so a filter is an addition, never a replacement.
   *
   * @param origin the request's Origin header, or null
   * @param request the handshake, see {@link #handshakeRequest}
   * @return the authentication to let through, or a refusal whose {@link
   *     Authentication#status()} is the status to send
   */
  public Authentication precheck(String origin, HandshakeRequest request) {
    if (!accepting.get()) {
      return Authentication.refused(503, "server shutting down");
    }
    if (open.get() >= maxConnections) {
      return Authentication.refused(503, "connection limit reached");
    }
    if (!origins.allows(origin)) {
      return Authentication.forbidden("origin not allowed");
    }
    return authenticate(request);
  }

  /**
   * A {@link HandshakeRequest} from plain values, for {@link #precheck} in a filter. Header names
   * are matched case-insensitively.
   */
  public static HandshakeRequest handshakeRequest(URI uri, Map<String, List<String>> headers,
      Map<String, List<String>> parameters) {
    return new PlainHandshakeRequest(uri, headers, parameters);
  }

  private Authentication authenticate(HandshakeRequest request) {
    try {
      return Objects.requireNonNull(authenticator.authenticate(request),
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
   * Handshakes refused so far, by status and reason (for example {@code "401 invalid token"}),
   * by the endpoint or a {@link HandshakeFilter} in front of it.
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
  }

  /** Open WebSocket connections of this endpoint. */
  public int connectionCount() {
    return open.get();
  }

  /**
   * Stops accepting connections and closes every connection of the hub with 1001 Going Away,
   * spread over {@code spread} so clients do not all reconnect at once. Blocks for about {@code
   * spread}.
   */
  public void shutdown(Duration spread) {
    accepting.set(false);
    hub.closeAll(spread);
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
  }

  /** {@link #shutdown} with no spread. */
  @Override
  public void close() {
    shutdown(Duration.ZERO);
  }

  boolean accepting() {
    return accepting.get();
  }

  /** Counts a new connection against the caps; false when a cap is reached. */
  boolean admit(FanoutEndpoint endpoint, String principal) {
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
    endpoints.add(endpoint);
    return true;
  }

  void release(FanoutEndpoint endpoint, String principal) {
    if (endpoints.remove(endpoint)) {
      open.decrementAndGet();
      perPrincipal.computeIfPresent(principal, (k, n) -> n.decrementAndGet() == 0 ? null : n);
    }
  }

  private void heartbeat() {
    long now = System.nanoTime();
    long timeout = heartbeatTimeout.toNanos();
    for (FanoutEndpoint e : endpoints) {
      try {
        e.heartbeat(now, timeout);
      } catch (RuntimeException ex) {
        log.debug("heartbeat failed for {}", e, ex);
      }
    }
  }

  /** Checks the Origin, authenticates, and hands each connection its own endpoint instance. */
  private final class Configurator extends ServerEndpointConfig.Configurator {
    @Override
    public boolean checkOrigin(String origin) {
      boolean ok = origins.allows(origin);
      if (!ok) {
        refusals.count(403, "origin not allowed");
      }
      return ok;
    }

    @Override
    public void modifyHandshake(ServerEndpointConfig sec, HandshakeRequest request,
        HandshakeResponse response) {
      if (!accepting.get()) {
        throw new HandshakeRejectedException(503, "server shutting down");
      }
      if (open.get() >= maxConnections) {
        throw new HandshakeRejectedException(503, "connection limit reached");
      }
      Authentication auth = authenticate(request);
      if (!auth.allowed()) {
        refusals.count(auth.status(), auth.reason());
        throw new HandshakeRejectedException(auth.status(), auth.reason());
      }
      sec.getUserProperties().put(AUTH_KEY, auth);
    }

    /**
     * No extension unless compression was asked for: permessage-deflate compresses each frame
     * once per connection (undoing "encode once, write to many") and hides backpressure behind a
     * compressor. Browsers ask for it by default; containers such as Jetty grant it by default.
     */
    @Override
    public List<Extension> getNegotiatedExtensions(List<Extension> installed,
        List<Extension> requested) {
      return compression ? super.getNegotiatedExtensions(installed, requested) : List.of();
    }

    @Override
    public <T> T getEndpointInstance(Class<T> endpointClass) {
      return endpointClass.cast(new FanoutEndpoint(FanoutWebSocket.this));
    }
  }

  /** Builds a {@link FanoutWebSocket}; every setting has a default and is validated eagerly. */
  public static final class Builder {
    private final Hub hub;
    private String path = "/ws";
    private Authenticator authenticator = Authenticator.allowAll();
    private List<String> allowedOrigins = List.of();
    private boolean allowMissingOrigin = true;
    private Backpressure backpressure;
    private Function<Authentication, EventFilter> filters = auth -> null;
    private int maxConnections = 100_000;
    private int maxConnectionsPerPrincipal = Integer.MAX_VALUE;
    private int maxMessageBytes = 4096;
    private int maxMerchants = 1000;
    private int maxMethods = 32;
    private double subscribesPerSecond = 5;
    private int subscribeBurst = 10;
    private int maxProtocolErrors = 20;
    private int replayPerSecond = 20_000;
    private int replayBurst = 100_000;
    private int maxConcurrentReplays = 128;
    private boolean compression;
    private Duration heartbeatInterval = Duration.ofSeconds(30);
    private Duration heartbeatTimeout = Duration.ofSeconds(60);

    private Builder(Hub hub) {
      this.hub = Objects.requireNonNull(hub, "hub");
    }

    /** The endpoint path; default {@code /ws}. */
    public Builder path(String path) {
      Objects.requireNonNull(path, "path");
      if (!path.startsWith("/")) {
        throw new IllegalArgumentException("path must start with '/', got '" + path + "'");
      }
      this.path = path;
      return this;
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

    /** The backpressure policy of this endpoint's connections; default the hub's. */
    public Builder backpressure(Backpressure backpressure) {
      this.backpressure = Objects.requireNonNull(backpressure, "backpressure");
      return this;
    }

    /**
     * A consumer-written {@link EventFilter} for each connection, chosen from its authentication
     * when it opens (null for none) and applied, on top of the client's merchants and methods, to
     * every subscription of that connection. For example, hide refunds from a support role:
     * {@code filter(auth -> auth.principal().startsWith("support:") ? e -> !"refunded"
     * .equals(e.attribute("status")) : null)}. It runs guarded: if it throws, the event is not
     * delivered to that connection, and the failure is counted.
     */
    public Builder filter(Function<Authentication, EventFilter> perConnection) {
      this.filters = Objects.requireNonNull(perConnection, "perConnection");
      return this;
    }

    /** Most open connections on this node; default 100,000. Over it, handshakes are refused. */
    public Builder maxConnections(int max) {
      this.maxConnections = positive(max, "max connections");
      return this;
    }

    /** Most open connections per principal; default unlimited. */
    public Builder maxConnectionsPerPrincipal(int max) {
      this.maxConnectionsPerPrincipal = positive(max, "max connections per principal");
      return this;
    }

    /** Largest client message in bytes; larger ones close the connection with 1009. Default 4096. */
    public Builder maxMessageBytes(int max) {
      this.maxMessageBytes = positive(max, "max message bytes");
      return this;
    }

    /** Most merchants in one subscribe; default 1000. */
    public Builder maxMerchants(int max) {
      this.maxMerchants = positive(max, "max merchants");
      return this;
    }

    /** Most methods in one subscribe; default 32. */
    public Builder maxMethods(int max) {
      this.maxMethods = positive(max, "max methods");
      return this;
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
     * Resumes reading and replaying history at once, on this endpoint; one more is closed with
     * 1013. Default 128.
     */
    public Builder maxConcurrentReplays(int max) {
      this.maxConcurrentReplays = positive(max, "max concurrent replays");
      return this;
    }

    /**
     * Whether to let clients negotiate permessage-deflate; default false. Compression costs CPU
     * per connection for every frame (the shared, encoded-once frame is compressed again for
     * each), so turn it on only where bandwidth is dearer than CPU (see docs/embedding.md).
     */
    public Builder compression(boolean enabled) {
      this.compression = enabled;
      return this;
    }

    public Builder maxProtocolErrors(int max) {
      this.maxProtocolErrors = positive(max, "max protocol errors");
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

    public FanoutWebSocket build() {
      return new FanoutWebSocket(this);
    }

    private static int positive(int n, String what) {
      if (n < 1) {
        throw new IllegalArgumentException(what + " must be at least 1, got " + n);
      }
      return n;
    }
  }
}
