package dev.fanout.protocol;

import dev.fanout.core.Backpressure;
import dev.fanout.core.Bus;
import dev.fanout.core.EventFilter;
import dev.fanout.core.EventId;
import dev.fanout.core.FanoutMetrics;
import dev.fanout.core.Hub;
import dev.fanout.core.InMemoryStream;
import dev.fanout.core.Publisher;
import dev.fanout.core.internal.DaemonThreads;
import dev.fanout.core.internal.Require;
import dev.fanout.core.internal.Scheduler;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One fanout node: the stream (its bus and history), the hub, protocol v1 and every thread, with
 * one lifecycle. Embedders, the example server and the Spring Boot starter configure it; the
 * transports ({@code FanoutWebSocket} in fanout-jakarta, {@code FanoutNettyServer} in
 * fanout-netty) serve it. The entry point of fanout-protocol.
 *
 * <pre>{@code
 * FanoutNode node = FanoutNode.builder()
 *     .stream(InMemoryStream.create(100_000))      // or a RedisBus: several nodes
 *     .allowedOrigins("https://ops.example.com")
 *     .authenticator(myAuthenticator)
 *     .build()
 *     .start();
 * FanoutWebSocket ws = FanoutWebSocket.builder(node).path("/ws").build();
 * ...
 * node.publish("mch_1", Map.of("method", "card"), "{\"status\":\"captured\"}");
 * ...
 * node.shutdown(Duration.ofSeconds(2));   // 1001 to every client, paced; then all of it stops
 * }</pre>
 *
 * <p>The node owns what it is given and what it makes: {@link #shutdown} closes the stream,
 * the hub and every thread, in one fixed order. A subscribe is {@code {"type":"subscribe",
 * "topics":[...],"filters":{"<attribute>":[...]},"lastEventId":...}}; {@link
 * Builder#topicAlias} and {@link Builder#filterAlias} let clients use a deployment's own words as
 * well (docs/protocol.md). Thread-safe.
 */
public final class FanoutNode implements Publisher {
  private static final Logger log = LoggerFactory.getLogger(FanoutNode.class);

  /** The header that marks a warm-up connection: {@link #warmupHeaders()}. */
  static final String WARMUP_HEADER = "Fanout-Warmup";

  /** Threads writing pings; a stalled peer can hold one only until the heartbeat closes it. */
  static final int PINGER_THREADS = 4;

  private enum State { NEW, RUNNING, DRAINING, STOPPED }

  final NodeSettings settings;
  final Hub hub;
  private final Bus bus;
  final Admission admission;
  final ReplayBudget replays;
  final ProtocolMetrics metrics;
  final Threads threads;
  private final Heartbeat heartbeat;
  private final Object lifecycle = new Object();
  private final String warmupNonce = EventId.newEpoch() + EventId.newEpoch();
  // warm-up handshakes checked and not yet opened (a failed upgrade leaves one; few at most)
  private final Set<Authentication> warmups = ConcurrentHashMap.newKeySet();
  private volatile State state = State.NEW;

  /**
   * The threads a node runs on: sends, history reads (snapshots, resumes), socket closes and
   * pings (both may block on a stalled peer, so never on the timer), and the timer. Tests give
   * direct executors and a fake clock.
   */
  record Threads(Executor sends, Executor history, Executor closes, Executor pings,
      Scheduler scheduler, List<ExecutorService> owned) {

    static Threads create(int sendThreads, int historyThreads) {
      ExecutorService sends = Executors.newFixedThreadPool(sendThreads,
          DaemonThreads.named("fanout-send"));
      ExecutorService history = Executors.newFixedThreadPool(historyThreads,
          DaemonThreads.named("fanout-history"));
      ExecutorService closes = Executors.newFixedThreadPool(2, DaemonThreads.named("fanout-close"));
      ExecutorService pings = Executors.newFixedThreadPool(PINGER_THREADS,
          DaemonThreads.named("fanout-ping"));
      ScheduledThreadPoolExecutor timer = new ScheduledThreadPoolExecutor(1,
          DaemonThreads.named("fanout-timer"));
      timer.setRemoveOnCancelPolicy(true); // an expiry cancelled on close must not linger
      // Stopped in this order, after the last 1001 and the hub: pings, timers and history reads
      // at once, queued closes given time to finish, queued sends last.
      return new Threads(sends, history, closes, pings, Scheduler.on(timer),
          List.of(pings, timer, history, closes, sends));
    }
  }

  private FanoutNode(Builder b, Threads threads) {
    this.settings = new NodeSettings(b);
    this.threads = threads;
    this.bus = b.stream == null ? InMemoryStream.create() : b.stream;
    this.metrics = b.protocolMetrics;
    this.replays = new ReplayBudget(settings.replayPerSecond(), settings.replayBurst(),
        settings.maxConcurrentReplays());
    this.admission = new Admission(settings, metrics);
    this.heartbeat = new Heartbeat(threads.scheduler(), threads.pings(), settings,
        admission.liveSessions());
    this.hub = b.hub.bus(bus).history(bus.history()).metrics(b.metrics)
        .sendExecutor(threads.sends()).historyExecutor(threads.history())
        .scheduler(threads.scheduler()).build();
  }

  public static Builder builder() {
    return new Builder();
  }

  /**
   * Starts accepting connections and the heartbeat; before it, handshakes are refused with 503.
   * Does nothing when already started.
   *
   * @return this node
   * @throws IllegalStateException after {@link #shutdown}
   */
  public FanoutNode start() {
    synchronized (lifecycle) {
      if (state == State.RUNNING) {
        return this;
      }
      if (state != State.NEW) {
        throw new IllegalStateException("a node that was shut down cannot start again");
      }
      state = State.RUNNING;
    }
    heartbeat.start();
    admission.accept();
    return this;
  }

  /**
   * Stops the node in one fixed order: refuse new handshakes (503) and report draining, close
   * every connection with 1001 Going Away spread over {@code spread} (so clients do not all come
   * back at once), then stop the hub, close the stream, and stop every thread. Blocks for about
   * {@code spread}. Call it before stopping the server a transport runs on, so the 1001s still go
   * out; a second call does nothing.
   */
  public void shutdown(Duration spread) {
    Require.notNegative(spread, "shutdown spread");
    synchronized (lifecycle) {
      if (state == State.DRAINING || state == State.STOPPED) {
        return;
      }
      state = State.DRAINING;
    }
    admission.refuse("server shutting down");
    closePaced(admission.sessions(), spread);
    heartbeat.stop();
    hub.close();
    try {
      bus.close();
    } catch (RuntimeException e) {
      log.warn("closing the stream failed", e);
    }
    stopThreads();
    state = State.STOPPED;
  }

  /** 1001 to each session, the i-th at {@code spread * i / (n - 1)}. */
  private static void closePaced(List<ProtocolSession> all, Duration spread) {
    long spreadNanos = spread.toNanos();
    long start = System.nanoTime();
    for (int i = 0; i < all.size(); i++) {
      long due = start + (all.size() <= 1 ? 0 : spreadNanos * i / (all.size() - 1));
      long wait;
      while ((wait = due - System.nanoTime()) > 0 && !Thread.currentThread().isInterrupted()) {
        LockSupport.parkNanos(wait);
      }
      all.get(i).close(1001, "server shutting down");
    }
  }

  private void stopThreads() {
    for (ExecutorService e : threads.owned()) {
      if (e == threads.closes()) {
        e.shutdown(); // the closes already queued still go out
        try {
          if (!e.awaitTermination(5, TimeUnit.SECONDS)) {
            log.warn("some connections did not close within 5 s of shutdown");
          }
        } catch (InterruptedException interrupted) {
          Thread.currentThread().interrupt();
        }
      }
      e.shutdownNow();
    }
  }

  /** {@link #shutdown} with no spread. */
  public void close() {
    shutdown(Duration.ZERO);
  }

  /** Publishes through the node's stream to every node (see {@link Publisher#publish}). */
  @Override
  public EventId publish(String topic, Map<String, String> attributes, String data) {
    return bus.publish(topic, attributes, data);
  }

  /** Where the node stands now, for health pages and readiness probes. */
  public NodeStatus status() {
    State s = state;
    return new NodeStatus(admission.accepting(), s == State.DRAINING || s == State.STOPPED,
        bus.status(), hub.newestEventAgeMillis(), admission.connectionCount(),
        admission.closingSockets(), admission.connectionsByTransport());
  }

  /** The settings this node was built with. */
  public NodeSettings settings() {
    return settings;
  }

  /** The node's hub (for gauges such as queued events). */
  public Hub hub() {
    return hub;
  }

  /** The node's stream, as a bus (for its status and metrics). */
  public Bus bus() {
    return bus;
  }

  // ---- what transports call ----

  /**
   * Whether a handshake from {@code origin} (null when the header is absent) may proceed, for a
   * transport that checks the Origin before it has the rest of the handshake; a refusal is
   * counted. {@link #check} checks the Origin again.
   */
  public boolean allowsOrigin(String origin) {
    return admission.allowsOrigin(origin);
  }

  /**
   * Runs the handshake checks: accepting, connection cap, Origin, authentication. A refusal is
   * counted (and logged, a summary at most every few seconds); its {@link
   * Authentication#status()} is the HTTP status to answer (401, 403 or 503).
   */
  public Authentication check(Handshake handshake) {
    Authentication auth = admission.check(handshake);
    if (auth.allowed() && warmupNonce.equals(handshake.header(WARMUP_HEADER))) {
      auth = auth.copy(); // this object, and only it, opens a warm-up connection
      warmups.add(auth);
    }
    return auth;
  }

  /**
   * The headers that mark a warm-up connection of this node (fanout-client's {@code Warmup}
   * sends them with its own): it is served like any other, but not counted as a client in
   * {@link #status()}, in the connection caps or in the connections gauge. The value is a random
   * secret of this node, so only code that asks the node can mark a connection.
   */
  public Map<String, String> warmupHeaders() {
    return Map.of(WARMUP_HEADER, warmupNonce);
  }

  /**
   * Counts a handshake the adapter refused itself before {@link #check} (such as 426 for a
   * WebSocket version other than 13), so that {@link #refusedHandshakes()} tells every refusal.
   */
  public void refused(int status, String reason) {
    admission.refused(status, reason);
  }

  /**
   * A socket is up: admits it (or closes it: 1008 without an allowed {@code auth}, 1001 while
   * not accepting, 1013 at a connection cap) and returns its session, which the adapter tells
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
    if (!admission.accepting()) {
      return refusedSession(socket, 1001, "server shutting down");
    }
    String principal = auth.principal();
    ProtocolSession session = new ProtocolSession(this, socket, principal, remote);
    if (!admission.admit(session, principal, warmups.remove(auth))) {
      return refusedSession(socket, 1013, "connection limit reached");
    }
    if (!session.start(auth)) {
      admission.release(session, principal);
    }
    return session;
  }

  private ProtocolSession refusedSession(ProtocolSocket socket, int code, String reason) {
    ProtocolSession s = new ProtocolSession(this, socket, null, null);
    s.closeSocket(code, reason);
    return s;
  }

  /**
   * Handshakes refused so far, by status and reason (for example {@code "401 invalid token"}).
   */
  public Map<String, Long> refusedHandshakes() {
    return admission.refusedHandshakes();
  }

  /** An admitted connection closed with {@code code}, whoever closed it. */
  void closed(int code) {
    try {
      metrics.connectionClosed(code);
    } catch (RuntimeException e) {
      log.debug("metrics failed on a close", e);
    }
  }

  @Override
  public String toString() {
    return "FanoutNode{" + state + ", " + admission.connectionCount() + " connections}";
  }

  /**
   * Builds a {@link FanoutNode}; every setting has a default and is validated as it is set, with
   * a message that says what to fix.
   */
  public static final class Builder {
    Bus stream;
    final Hub.Builder hub = Hub.builder();
    FanoutMetrics metrics = FanoutMetrics.NOOP;
    ProtocolMetrics protocolMetrics = new ProtocolMetrics() {};
    Authenticator authenticator = Authenticator.allowAll();
    List<String> allowedOrigins = List.of();
    boolean allowMissingOrigin = true;
    Backpressure backpressure;
    Function<Authentication, EventFilter> filters = auth -> null;
    int maxConnections = 100_000;
    int maxConnectionsPerPrincipal = Integer.MAX_VALUE;
    int maxMessageBytes = 4096;
    int maxTopics = 1000;
    int maxFilterAttributes = 8;
    int maxFilterValues = 32;
    final Set<String> topicAliases = new LinkedHashSet<>();
    final Map<String, String> filterAliases = new LinkedHashMap<>();
    double subscribesPerSecond = 5;
    int subscribeBurst = 10;
    int maxProtocolErrors = 20;
    int replayPerSecond = 20_000;
    int replayBurst = 100_000;
    int maxConcurrentReplays = 10_000;
    Duration heartbeatInterval = Duration.ofSeconds(30);
    Duration heartbeatTimeout = Duration.ofSeconds(60);
    Duration sseHeartbeatInterval = Duration.ofSeconds(15);
    Duration closeDeadline = Duration.ofSeconds(5);
    int sendThreads = Math.max(2, Runtime.getRuntime().availableProcessors());
    int historyThreads = Hub.DEFAULT_HISTORY_THREADS;
    private Threads threads; // tests: direct executors and a fake clock

    private Builder() {}

    /**
     * The stream this node delivers and publishes to: an {@link InMemoryStream} for one node
     * (the default, retaining {@value InMemoryStream#DEFAULT_RETENTION} events), or fanout-redis's
     * {@code RedisBus} for several. The node owns it from here: it closes it at shutdown, after
     * the last 1001. Its {@link Bus#history()} answers snapshots and resumes.
     */
    public Builder stream(Bus stream) {
      this.stream = Objects.requireNonNull(stream, "stream");
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

    /**
     * What happens to a connection whose queue is full; default {@link
     * Backpressure#disconnect()} (the client resumes where it left).
     */
    public Builder backpressure(Backpressure backpressure) {
      this.backpressure = Objects.requireNonNull(backpressure, "backpressure");
      hub.backpressure(backpressure);
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
      this.maxConnections = Require.positive(max, "max connections");
      return this;
    }

    /** Most open connections per principal; default unlimited. */
    public Builder maxConnectionsPerPrincipal(int max) {
      this.maxConnectionsPerPrincipal = Require.positive(max, "max connections per principal");
      return this;
    }

    /** Largest client message, in bytes; a larger one closes with 1009. Default 4096. */
    public Builder maxMessageBytes(int max) {
      this.maxMessageBytes = Require.positive(max, "max message bytes");
      return this;
    }

    /** Most topics in one subscribe; default 1000. */
    public Builder maxTopics(int max) {
      this.maxTopics = Require.positive(max, "max topics");
      return this;
    }

    /**
     * Most attributes one subscribe may filter on, and most values per attribute; default 8
     * and 32.
     */
    public Builder maxFilters(int attributes, int valuesPerAttribute) {
      this.maxFilterAttributes = Require.positive(attributes, "max filter attributes");
      this.maxFilterValues = Require.positive(valuesPerAttribute, "max filter values");
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
      Require.argument(!attribute.isEmpty() && attribute.length() <= ClientMessage.MAX_NAME_LENGTH,
          "attribute must be 1 to %d characters, got '%s'", ClientMessage.MAX_NAME_LENGTH,
          attribute);
      filterAliases.put(alias(field), attribute);
      return this;
    }

    private String alias(String field) {
      Objects.requireNonNull(field, "field");
      Require.argument(!field.isEmpty() && !Vocabulary.RESERVED.contains(field)
          && !topicAliases.contains(field) && !filterAliases.containsKey(field),
          "'%s' cannot be an alias: it is empty, a protocol field (%s) or already an alias",
          field, String.join(", ", new TreeSet<>(Vocabulary.RESERVED)));
      return field;
    }

    /**
     * The subscribe rate a connection may sustain, with a burst; default 5 per second, burst 10.
     * Faster ones get an error frame; a connection that keeps flooding is closed with 1008.
     */
    public Builder subscribeRate(double perSecond, int burst) {
      Require.argument(perSecond > 0, "subscribe rate must be positive, got %s", perSecond);
      this.subscribesPerSecond = perSecond;
      this.subscribeBurst = Require.positive(burst, "subscribe burst");
      return this;
    }

    /** Bad messages tolerated per connection before it is closed with 1008; default 20. */
    public Builder maxProtocolErrors(int max) {
      this.maxProtocolErrors = Require.positive(max, "max protocol errors");
      return this;
    }

    /**
     * What resumes may replay from history, per principal, or per address for anonymous clients
     * (behind a proxy every anonymous client has the proxy's address: authenticate, or size the
     * budget for all of them): {@code perSecond} events refilled up to {@code burst}. A resume
     * that finds its budget spent is closed with 1013, which clients retry with backoff. A
     * subscribe without {@code lastEventId} is not charged: its snapshot is bounded by the
     * snapshot size and the subscribe rate. Default 20,000 events/s, burst 100,000.
     */
    public Builder replayBudget(int perSecond, int burst) {
      this.replayPerSecond = Require.positive(perSecond, "replay events per second");
      this.replayBurst = Require.positive(burst, "replay burst");
      return this;
    }

    /**
     * Resumes waiting for or reading history at once; one more is closed with 1013. Resumes
     * queue on the history threads (each waits at most the history deadline) and most are
     * answered from the node's memory in microseconds, so this bounds memory, not Redis load.
     * Default 10,000.
     */
    public Builder maxConcurrentReplays(int max) {
      this.maxConcurrentReplays = Require.positive(max, "max concurrent replays");
      return this;
    }

    /**
     * Ping every {@code interval}; close a connection with 4001 when its last pong is older than
     * {@code timeout}. Default 30 s and 60 s.
     */
    public Builder heartbeat(Duration interval, Duration timeout) {
      Require.positive(interval, "heartbeat interval");
      Objects.requireNonNull(timeout, "timeout");
      Require.argument(timeout.compareTo(interval) > 0,
          "heartbeat timeout %s must be longer than the interval %s", timeout, interval);
      this.heartbeatInterval = interval;
      this.heartbeatTimeout = timeout;
      return this;
    }

    /**
     * Write a comment line on every Server-Sent Events stream each {@code interval} (skipped
     * while a write is in progress), so proxies and load balancers that close idle responses
     * keep it open. Default 15 s. Liveness stays with {@link #heartbeat}: an SSE client that does
     * not read is closed when a write waits longer than its timeout.
     */
    public Builder sseHeartbeat(Duration interval) {
      this.sseHeartbeatInterval = Require.positive(interval, "SSE heartbeat interval");
      return this;
    }

    /**
     * How long a connection the node closed (a limit, the heartbeat, expiry, backpressure,
     * shutdown) may take to finish its closing handshake; after it its socket is closed
     * regardless, so a peer that never reads nor answers holds a file and its buffers no longer.
     * Its slot under the connection caps is free at once. Default 5 s.
     */
    public Builder closeDeadline(Duration deadline) {
      this.closeDeadline = Require.positive(deadline, "close deadline");
      return this;
    }

    /**
     * Where the hub's events (connections, deliveries, drops...) are reported; default nowhere.
     * If it also implements {@link ProtocolMetrics}, refused handshakes and closes go there too.
     */
    public Builder metrics(FanoutMetrics metrics) {
      this.metrics = Objects.requireNonNull(metrics, "metrics");
      if (metrics instanceof ProtocolMetrics p) {
        this.protocolMetrics = p;
      }
      return this;
    }

    /** Events sent on a fresh subscribe; default 50, 0 for none. */
    public Builder snapshotSize(int events) {
      hub.snapshotSize(events);
      return this;
    }

    /**
     * Events queued per connection before backpressure acts; default {@value
     * Hub#DEFAULT_OUTBOX_CAPACITY}.
     */
    public Builder outboxCapacity(int events) {
      hub.outboxCapacity(events);
      return this;
    }

    /**
     * A connection whose events come less than {@code linger} apart gets them together at most
     * every {@code linger}: fewer, larger writes for hot connections. Default 2 ms; {@link
     * Duration#ZERO} turns it off.
     */
    public Builder batchLinger(Duration linger) {
      hub.batchLinger(linger);
      return this;
    }

    /** Most events sent together (one write, or one {@code batch} frame); default 64. */
    public Builder maxBatch(int events) {
      hub.maxBatch(events);
      return this;
    }

    /**
     * Events the node keeps in memory to answer resumes without asking the stream's history;
     * default {@value Hub#DEFAULT_RECENT_EVENTS}, 0 for none.
     */
    public Builder recentEvents(int events) {
      hub.recentEvents(events);
      return this;
    }

    /**
     * Subscribes read history on {@code threads} threads, never on a transport's; one that waited
     * longer than {@code deadline} closes its connection with 1013 "history busy, try again".
     * Default 8 threads and 10 s.
     */
    public Builder historyReads(int threads, Duration deadline) {
      this.historyThreads = Require.positive(threads, "history threads");
      hub.historyDeadline(deadline);
      return this;
    }

    /** Threads that write to the sockets; default the number of processors, at least 2. */
    public Builder sendThreads(int threads) {
      this.sendThreads = Require.positive(threads, "send threads");
      return this;
    }

    /** Tests: the node's threads and clock (direct executors, a fake scheduler). */
    Builder threads(Threads threads) {
      this.threads = Objects.requireNonNull(threads, "threads");
      return this;
    }

    /**
     * The node, not yet accepting connections ({@link #start()}). If building fails, the stream
     * given to {@link #stream} is closed.
     */
    public FanoutNode build() {
      Threads t = threads != null ? threads : Threads.create(sendThreads, historyThreads);
      try {
        return new FanoutNode(this, t);
      } catch (RuntimeException e) {
        if (threads == null) {
          t.owned().forEach(ExecutorService::shutdownNow);
        }
        if (stream != null) {
          stream.close();
        }
        throw e;
      }
    }
  }
}
