package dev.fanout.example;

import com.google.gson.JsonPrimitive;
import dev.fanout.client.Warmup;
import dev.fanout.core.Backpressure;
import dev.fanout.core.Bus;
import dev.fanout.core.History;
import dev.fanout.core.Hub;
import dev.fanout.core.InMemoryStream;
import dev.fanout.protocol.Authentication;
import dev.fanout.protocol.Authenticator;
import dev.fanout.protocol.FanoutProtocol;
import dev.fanout.protocol.Handshake;
import dev.fanout.redis.RedisBus;
import dev.fanout.redis.RedisStream;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The example server assembled: a hub over the in-memory stream or Redis, the fanout endpoint at
 * /ws, the dashboard page at /, /metrics and /health, and the demo payment generator.
 */
final class FeedServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(FeedServer.class);
  private static final String STATIC = "/dev/fanout/example/web/"; // the page, on the classpath

  /** Everything the command line can set. */
  static final class Config {
    String host = "0.0.0.0";
    int port = 8080;
    URI redis; // null = embedded
    String namespace = "payments";
    List<String> allowedOrigins = List.of(); // empty = the page's own origin
    boolean allowMissingOrigin = true;
    String authSecret; // null = no authentication
    Duration heartbeatInterval = Duration.ofSeconds(30);
    Duration heartbeatTimeout = Duration.ofSeconds(60);
    int queueSize = Hub.DEFAULT_OUTBOX_CAPACITY;
    int maxConnections = 100_000;
    int maxConnectionsPerPrincipal = Integer.MAX_VALUE;
    int replayPerSecond = 20_000;
    int replayBurst = 100_000;
    int maxConcurrentReplays = 10_000;
    int redisPoolSize = 16;
    boolean compression;
    Duration batchLinger = Duration.ofMillis(2);
    String backpressure = "disconnect";
    int snapshotSize = 50;
    int snapshotCacheMb = 64; // 0: off
    int retention = RedisStream.DEFAULT_RETENTION; // the library's, and the redis-cli example's
    double rate = 20;
    boolean generator = true;
    Duration shutdownSpread = Duration.ofSeconds(2);
    int warmupConnections; // 0: none (the command line's default is 2000; tests start cold)
    String transport = "jetty"; // or "netty"
    // How long a connection may take from accept to its whole first request, silent or
    // trickling (on Jetty also its idle timeout). Not a flag: tests shorten it.
    Duration requestTimeout = Duration.ofSeconds(30);
  }

  private final Config config;
  private volatile boolean draining;
  private volatile boolean warming;
  private final PrometheusMetrics metrics = new PrometheusMetrics();
  private final Bus bus;
  private final RedisBus redisBus; // null when embedded
  private final Hub hub;
  private final FanoutProtocol protocol;
  private final Web web;
  private final PaymentGenerator generator; // null when off
  private final ExecutorService senders = Executors.newFixedThreadPool(
      Math.max(2, Runtime.getRuntime().availableProcessors()), r -> {
        Thread t = new Thread(r, "fanout-send");
        t.setDaemon(true);
        return t;
      });

  private FeedServer(Config c) throws Exception {
    this.config = c;
    warnIfFileLimitIsBelow(c.maxConnections);
    History history;
    if (c.redis != null) {
      RedisStream stream = RedisStream.named(c.namespace).withRetention(c.retention);
      redisBus = RedisBus.builder(c.redis, stream)
          .poolSize(c.redisPoolSize)
          .snapshotCache(c.snapshotCacheMb == 0 ? 0
              : Math.max(RedisBus.DEFAULT_CACHE_PER_TOPIC, c.snapshotSize),
              Math.max(1, c.snapshotCacheMb) << 20)
          .onLinkChange(state -> log.info("Redis link {}", state))
          .build();
      bus = redisBus;
      history = redisBus.history();
    } else {
      redisBus = null;
      InMemoryStream stream = InMemoryStream.create(c.retention);
      bus = stream;
      history = stream;
    }
    hub = Hub.builder().bus(bus).history(history).metrics(metrics.fanout).sendExecutor(senders)
        .backpressure(policy(c.backpressure)).outboxCapacity(c.queueSize)
        .batchLinger(c.batchLinger)
        .snapshotSize(c.snapshotSize).build();
    metrics.fanout.bind(hub);
    if (redisBus != null) {
      metrics.fanout.bind(redisBus);
    }

    Authenticator auth;
    if (c.authSecret == null) {
      log.warn("authentication is OFF: every client sees every merchant "
          + "(set --auth-secret to require signed tokens)");
      auth = Authenticator.allowAll();
    } else {
      auth = new HmacTokens(c.authSecret, Clock.systemUTC());
      log.info("authentication is ON: clients need a token (see the 'token' subcommand)");
    }
    web = c.transport.equals("netty") ? new NettyWeb(c.host, c.port, STATIC, c.requestTimeout)
        : new WebServer(c.host, c.port, STATIC, c.requestTimeout);
    web.text("/metrics", "text/plain; version=0.0.4; charset=utf-8",
        () -> new Web.Answer(200, metrics.scrape()));
    web.text("/health", "application/json", this::health);
    web.text("/health/live", "application/json",
        () -> new Web.Answer(200, "{\"status\":\"UP\"}"));
    web.text("/health/ready", "application/json", this::readiness);
    web.text("/session", "application/json", request -> session(auth, request));
    int port = web.listen();
    List<String> origins = c.allowedOrigins.isEmpty() ? ownOrigins(port) : c.allowedOrigins;
    protocol = FanoutProtocol.builder(hub)
        .authenticator(auth)
        // the payment words of fanout-client.js and the page, as well as topics and filters
        .topicAlias("merchants")
        .filterAlias("methods", "method")
        .allowedOrigins(origins)
        .allowMissingOrigin(c.allowMissingOrigin)
        .heartbeat(c.heartbeatInterval, c.heartbeatTimeout)
        .maxConnections(c.maxConnections)
        .maxConnectionsPerPrincipal(c.maxConnectionsPerPrincipal)
        .replayBudget(c.replayPerSecond, c.replayBurst)
        .maxConcurrentReplays(c.maxConcurrentReplays)
        .metrics(metrics.fanout)
        .closeOnShutdown(hub, bus, senders::shutdown) // after the last 1001, in this order
        .build();
    web.deploy(protocol, "/ws", c.compression);
    log.info("allowed origins: {}", origins);
    if (c.warmupConnections > 0) {
      warmUp(c.warmupConnections, origins.get(0), auth);
    }
    generator = c.generator ? new PaymentGenerator(bus::publish, c.rate) : null;
    if (generator != null) {
      generator.start();
    }
    log.info("fanout example server on http://{}:{}/ ({} mode); WebSocket at /ws",
        c.host, port(), redisBus == null ? "embedded" : "Redis " + c.redis);
  }

  /**
   * Until it is done, /health/ready says "warming up": a load balancer sends the first burst
   * only to a node whose handshake and subscribe path the JIT has compiled.
   */
  private void warmUp(int connections, String origin, Authenticator auth) {
    String token = auth instanceof HmacTokens tokens
        ? "?token=" + tokens.mint("warmup", List.of(), Duration.ofMinutes(5)) : "";
    URI ws = URI.create("ws://127.0.0.1:" + port() + "/ws" + token);
    warming = true;
    Thread t = new Thread(() -> {
      try {
        Warmup.run(ws, origin.equals("*") ? Map.of() : Map.of("Origin", origin),
            connections);
      } finally {
        warming = false;
      }
    }, "fanout-warmup");
    t.setDaemon(true);
    t.start();
  }

  static FeedServer start(Config c) throws Exception {
    return new FeedServer(c);
  }

  int port() {
    return web.getPort();
  }

  Hub hub() {
    return hub;
  }

  /** The bus this node publishes to (for tests that play the payment service). */
  Bus bus() {
    return bus;
  }

  /** SIGTERM: stop publishing, tell every client 1001 Going Away (paced), stop. */
  void shutdown() {
    draining = true; // from this moment /health and /health/ready say so (503)
    log.info("shutting down: closing {} connections with 1001 over {}", hub.connectionCount(),
        config.shutdownSpread);
    if (generator != null) {
      generator.close();
    }
    protocol.shutdown(config.shutdownSpread); // then the hub, the bus and the send threads
    web.stop();
    log.info("stopped");
  }

  @Override
  public void close() {
    shutdown();
  }

  /**
   * Each connection is an open file: a process whose limit is below its connection cap refuses
   * connections with "too many open files" long before the cap. Said once, at startup.
   */
  private static void warnIfFileLimitIsBelow(int maxConnections) {
    if (ManagementFactory.getOperatingSystemMXBean()
        instanceof com.sun.management.UnixOperatingSystemMXBean os) {
      long limit = os.getMaxFileDescriptorCount();
      if (limit < maxConnections + 100L) {
        log.warn("the open-file limit is {}, below --max-connections {} (plus files of its own): "
            + "raise it (ulimit -n, LimitNOFILE=) or lower the cap; see docs/operations.md",
            limit, maxConnections);
      }
    }
  }

  static Backpressure policy(String name) {
    switch (name) {
      case "drop-oldest":
        return Backpressure.dropOldest();
      case "drop-newest":
        return Backpressure.dropNewest();
      case "disconnect":
        return Backpressure.disconnect();
      case "conflate":
        return Backpressure.conflate(e -> e.attribute("paymentId"));
      default:
        throw new IllegalArgumentException("backpressure must be one of drop-oldest, drop-newest, "
            + "disconnect, conflate; got '" + name + "'");
    }
  }

  /**
   * The page's own origin on this port. The page is served from here, so these are the origins
   * its WebSocket comes from unless the server is reached under another name (then pass
   * --allowed-origins).
   */
  private static List<String> ownOrigins(int port) {
    List<String> o = new ArrayList<>();
    o.add("http://localhost:" + port);
    o.add("http://127.0.0.1:" + port);
    return o;
  }

  /**
   * {"status":"UP"|"DEGRADED"|"DRAINING","mode":...,"connections":N,"redis":"UP"|"DOWN"|...},
   * and while the link is not up "redisError": why it went down last. 503 while draining, so a
   * load balancer stops sending reconnecting dashboards here from the first moment.
   */
  private Web.Answer health() {
    String redis = redisBus == null ? null : redisBus.linkState().name();
    boolean up = redisBus == null || redisBus.linkState().isUp();
    String reason = up || redisBus.linkDownReason() == null ? null : redisBus.linkDownReason();
    String status = draining ? "DRAINING" : up ? "UP" : "DEGRADED";
    return new Web.Answer(draining ? 503 : 200, "{\"status\":\"" + status
        + "\",\"mode\":\"" + (redisBus == null ? "embedded" : "redis") + "\",\"connections\":"
        + hub.connectionCount() + ",\"newestEventAgeMs\":" + hub.newestEventAgeMillis()
        + (redis == null ? "" : ",\"redis\":\"" + redis + "\"")
        + (reason == null ? "" : ",\"redisError\":" + jsonString(reason)) + "}");
  }

  /**
   * Whether to send new connections here: not while draining, nor while this node's Redis link
   * is down (its new clients could not be given history). Liveness (/health/live) is apart: a
   * node that is draining or waiting for Redis is alive and must not be restarted for it.
   */
  /**
   * Who the page's token says it is: {"principal":..,"merchants":[..] or "*","expiresAt":ms or
   * null}, or 401 {"error":"token expired"} (missing, malformed...). The page offers only the
   * token's merchants, and tells the user why it cannot connect: a browser sees a refused
   * WebSocket handshake only as a close with 1006.
   */
  private static Web.Answer session(Authenticator auth, Handshake request) {
    Authentication a;
    try {
      a = auth.authenticate(request);
    } catch (RuntimeException e) {
      a = Authentication.unauthorized("authentication failed");
    }
    if (!a.allowed()) {
      return new Web.Answer(a.status(), "{\"error\":" + jsonString(a.reason()) + "}");
    }
    String merchants = a.scope().isAll() ? "\"*\"" : a.scope().topics().stream().sorted()
        .map(FeedServer::jsonString).collect(Collectors.joining(",", "[", "]"));
    return new Web.Answer(200, "{\"principal\":" + jsonString(a.principal())
        + ",\"merchants\":" + merchants + ",\"expiresAt\":"
        + (a.expiresAt() == null ? "null" : a.expiresAt().toEpochMilli()) + "}");
  }

  private Web.Answer readiness() {
    String why = draining ? "draining" : warming ? "warming up"
        : redisBus != null && !redisBus.linkState().isUp()
        ? "redis link " + redisBus.linkState().name().toLowerCase() : null;
    return why == null ? new Web.Answer(200, "{\"ready\":true}")
        : new Web.Answer(503, "{\"ready\":false,\"reason\":\"" + why + "\"}");
  }

  private static String jsonString(String s) {
    return new JsonPrimitive(s).toString();
  }
}
