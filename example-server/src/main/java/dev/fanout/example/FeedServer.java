package dev.fanout.example;

import com.google.gson.JsonPrimitive;
import dev.fanout.client.Warmup;
import dev.fanout.core.Backpressure;
import dev.fanout.core.Bus;
import dev.fanout.core.BusStatus;
import dev.fanout.core.Hub;
import dev.fanout.core.InMemoryStream;
import dev.fanout.jwt.JwtAuthenticator;
import dev.fanout.protocol.Authentication;
import dev.fanout.protocol.Authenticator;
import dev.fanout.protocol.FanoutNode;
import dev.fanout.protocol.Handshake;
import dev.fanout.protocol.HandshakeCheck;
import dev.fanout.protocol.NodeStatus;
import dev.fanout.redis.RedisBus;
import dev.fanout.redis.RedisStream;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
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
    String host = "127.0.0.1"; // this machine only: 0.0.0.0 is a choice (--host)
    int port = 8080;
    URI redis; // null = embedded
    String namespace = "fanout"; // the starter's and publish's too: one default
    List<String> allowedOrigins = List.of(); // besides the page's own origins; "*": any
    boolean allowMissingOrigin = true;
    JwtAuthenticator jwt; // null = no authentication (JwtOptions builds it from the flags)
    Duration heartbeatInterval = Duration.ofSeconds(30);
    Duration heartbeatTimeout = Duration.ofSeconds(60);
    Duration sseHeartbeat = Duration.ofSeconds(15);
    int queueSize = Hub.DEFAULT_OUTBOX_CAPACITY;
    int maxConnections = ExampleServer.REDIS_MAX_CONNECTIONS; // the command line's depends
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
    Integer partitions; // null: the default for the URI (ExampleServer.stream)
    double rate = 20;
    Merchants merchants = Merchants.demo(); // the page's filters and the generator's merchants
    boolean generator = true;
    Duration shutdownSpread = Duration.ofSeconds(2);
    int warmupConnections; // 0: none (the command line's default is 2000 with Redis, else 0)
    String transport = "jetty"; // or "netty"
    // How long a connection may take from accept to its whole first request, silent or
    // trickling (on Jetty also its idle timeout). Not a flag: tests shorten it.
    Duration requestTimeout = Duration.ofSeconds(30);
  }

  private final Config config;
  private volatile boolean warming;
  private final PrometheusMetrics metrics = new PrometheusMetrics();
  private volatile FanoutNode node; // null until built: /health says starting
  private final Web web;
  private final PaymentGenerator generator; // null when off

  private FeedServer(Config c) throws Exception {
    this.config = c;
    warnIfFileLimitIsBelow(c.maxConnections);
    Authenticator auth;
    if (c.jwt == null) {
      if (loopback(c.host)) { // this machine only: a demo, not a leak
        log.info("authentication is off: every client on this machine sees every merchant "
            + "(set --jwt-secret, --jwt-public-key or --jwks-url to require JWTs)");
      } else {
        log.warn("authentication is OFF on {}: every client that reaches it sees every merchant "
            + "(set --jwt-secret, --jwt-public-key or --jwks-url to require JWTs)", c.host);
      }
      auth = Authenticator.allowAll();
    } else {
      // the warm-up's connections come in by the node's own secret header, not by a token
      auth = new WarmupPass(c.jwt, () -> node);
      log.info("authentication is ON: clients need a JWT ({}; pages: POST /session)", c.jwt);
    }
    web = c.transport.equals("netty") ? new NettyWeb(c.host, c.port, STATIC, c.requestTimeout)
        : new WebServer(c.host, c.port, STATIC, c.requestTimeout);
    web.text("/metrics", "text/plain; version=0.0.4; charset=utf-8",
        () -> new Web.Answer(200, metrics.scrape()));
    web.text("/health", "application/json", this::health);
    web.text("/health/live", "application/json",
        () -> new Web.Answer(200, "{\"status\":\"UP\"}"));
    web.text("/health/ready", "application/json", this::readiness);
    web.text("/merchants", "application/json", request -> merchants(auth, c.merchants, request));
    int port = web.listen();
    List<String> origins = ownOrigins(port); // the built-in page keeps working whatever is added
    origins.addAll(c.allowedOrigins);
    Sessions sessions = new Sessions(auth, c.jwt, origins, Clock.systemUTC());
    web.route("/session", "application/json", Map.of("GET", sessions::who,
        "POST", sessions::signIn, "DELETE", sessions::signOut));
    FanoutNode n = FanoutNode.builder()
        .stream(stream(c))
        .authenticator(auth)
        // the payment words, for clients that speak them (fanout-client with its aliases
        // option), as well as topics and filters
        .topicAlias("merchants")
        .filterAlias("methods", "method")
        .allowedOrigins(origins)
        .allowMissingOrigin(c.allowMissingOrigin)
        .heartbeat(c.heartbeatInterval, c.heartbeatTimeout).sseHeartbeat(c.sseHeartbeat)
        .maxConnections(c.maxConnections)
        .maxConnectionsPerPrincipal(c.maxConnectionsPerPrincipal)
        .replayBudget(c.replayPerSecond, c.replayBurst)
        .maxConcurrentReplays(c.maxConcurrentReplays)
        .backpressure(policy(c.backpressure))
        .outboxCapacity(c.queueSize)
        .batchLinger(c.batchLinger)
        .snapshotSize(c.snapshotSize)
        .metrics(metrics.fanout)
        .build();
    node = n;
    metrics.fanout.bind(n);
    // why a handshake is refused, for pages (a browser sees only 1006): fanout-client asks here
    web.text("/ws" + HandshakeCheck.PATH_SUFFIX, HandshakeCheck.CONTENT_TYPE, request -> {
      HandshakeCheck.Answer a = HandshakeCheck.answer(n, request);
      return new Web.Answer(a.status(), a.body(), a.headers());
    });
    web.deploy(n, "/ws", c.compression);
    n.start();
    log.info("allowed origins: {}", origins);
    if (c.warmupConnections > 0) {
      warmUp(c.warmupConnections, origins.get(0)); // http://localhost:<port>
    }
    generator = c.generator ? new PaymentGenerator(n, c.rate, c.merchants.ids()) : null;
    if (generator != null) {
      generator.start();
    }
    log.info("fanout example server on http://{}:{}/ ({} mode); WebSocket at /ws",
        c.host, port(), c.redis == null ? "embedded" : "Redis " + c.redis);
  }

  /** The in-memory stream, or the Redis bus of --redis; the node owns it from here. */
  private static Bus stream(Config c) {
    if (c.redis == null) {
      return InMemoryStream.create(c.retention);
    }
    return RedisBus.builder(c.redis,
            ExampleServer.stream(c.redis, c.namespace, c.retention, c.partitions))
        .poolSize(c.redisPoolSize)
        .snapshotCache(c.snapshotCacheMb == 0 ? 0
            : Math.max(RedisBus.DEFAULT_CACHE_PER_TOPIC, c.snapshotSize),
            Math.max(1, c.snapshotCacheMb) << 20)
        .onLinkChange(state -> log.info("Redis link {}", state))
        .build();
  }

  /**
   * Until it is done, /health/ready says "warming up": a load balancer sends the first burst
   * only to a node whose handshake and subscribe path the JIT has compiled.
   */
  private void warmUp(int connections, String origin) {
    URI ws = URI.create("ws://127.0.0.1:" + port() + "/ws");
    Map<String, String> headers = new HashMap<>(node.warmupHeaders()); // not counted as clients
    headers.put("Origin", origin);
    warming = true;
    Thread t = new Thread(() -> {
      try {
        Warmup.run(ws, headers, connections);
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

  /** The node (for tests that play the payment service, or read its hub). */
  FanoutNode node() {
    return node;
  }

  /** SIGTERM: stop publishing, tell every client 1001 Going Away (paced), stop. */
  void shutdown() {
    log.info("shutting down: closing {} connections with 1001 over {}",
        node.status().connections(), config.shutdownSpread);
    if (generator != null) {
      generator.close();
    }
    // Draining from its first moment (/health and /health/ready say so: 503); then the hub, the
    // stream and the node's threads stop, and the web server last.
    node.shutdown(config.shutdownSpread);
    web.stop();
    log.info("stopped");
  }

  @Override
  public void close() {
    shutdown();
  }

  /** Files the process holds besides its clients' sockets: jars, Redis, the page's own... */
  static final int FILES_OF_ITS_OWN = 100;

  /**
   * Each connection is an open file: a process whose limit is below what its connection cap
   * needs refuses connections with "too many open files" long before the cap. Said once, at
   * startup, and only then: a limit that suffices is not worth a line.
   */
  private static void warnIfFileLimitIsBelow(int maxConnections) {
    if (ManagementFactory.getOperatingSystemMXBean()
        instanceof com.sun.management.UnixOperatingSystemMXBean os) {
      long limit = os.getMaxFileDescriptorCount();
      long needed = (long) maxConnections + FILES_OF_ITS_OWN;
      if (limit < needed) {
        log.warn("the open-file limit is {}, below the {} files --max-connections {} needs "
            + "(plus {} of its own): raise it (ulimit -n, LimitNOFILE=) or lower the cap; see "
            + "docs/operations.md", limit, needed, maxConnections, FILES_OF_ITS_OWN);
      }
    }
  }

  private static boolean loopback(String host) {
    try {
      return InetAddress.getByName(host).isLoopbackAddress();
    } catch (UnknownHostException e) {
      return false; // the bind fails next, and says why
    }
  }

  /**
   * The --backpressure policy: the library's names, and {@code conflate} for the newest status
   * of each payment ({@code conflate:paymentId}).
   */
  static Backpressure policy(String name) {
    return Backpressure.named(name.equals("conflate") ? "conflate:paymentId" : name);
  }


  /**
   * The page's own origin on this port. The page is served from here, so these are the origins
   * its WebSocket comes from unless the server is reached under another name (then add it with
   * --allowed-origins). Always allowed: --allowed-origins adds to them.
   */
  private static List<String> ownOrigins(int port) {
    List<String> o = new ArrayList<>();
    o.add("http://localhost:" + port);
    o.add("http://127.0.0.1:" + port);
    return o;
  }

  /**
   * {"status":"UP"|"DEGRADED"|"DRAINING","mode":...,"connections":N,"connectionsByTransport":
   * {"websocket":N,"sse":N},"redis":"UP"|"DOWN"|...},
   * and while the link is not up "redisError": why it went down last. 503 while draining, so a
   * load balancer stops sending reconnecting dashboards here from the first moment.
   */
  private Web.Answer health() {
    FanoutNode n = node;
    if (n == null) {
      return new Web.Answer(503, "{\"status\":\"STARTING\"}");
    }
    NodeStatus s = n.status();
    BusStatus bus = s.bus();
    boolean up = bus.link().isUp();
    // A Redis that refuses writes (full with noeviction) still serves: DEGRADED, still ready
    String status = s.draining() ? "DRAINING"
        : up && bus.writesRefused() == null ? "UP" : "DEGRADED";
    return new Web.Answer(s.draining() ? 503 : 200, "{\"status\":\"" + status
        + "\",\"mode\":\"" + (config.redis == null ? "embedded" : "redis")
        + "\",\"connections\":" + s.connections() + ",\"connectionsByTransport\":{\"websocket\":"
        + s.connectionsByTransport().get("websocket") + ",\"sse\":"
        + s.connectionsByTransport().get("sse") + "},\"closingSockets\":" + s.closingSockets()
        + ",\"newestEventAgeMs\":" + s.newestEventAgeMillis()
        + (config.redis == null ? "" : ",\"redis\":\"" + bus.link().name()
            + "\",\"namespace\":" + jsonString(config.namespace))
        + (up || bus.downReason() == null ? ""
            : ",\"redisError\":" + jsonString(bus.downReason()))
        + (bus.writesRefused() == null ? ""
            : ",\"redisWritesRefused\":" + jsonString(bus.writesRefused())) + "}");
  }

  /**
   * Whether to send new connections here: not while starting, warming up or draining, nor while
   * this node's Redis link is down (its new clients could not be given history). Liveness
   * (/health/live) is apart: a node that is draining or waiting for Redis is alive and must not
   * be restarted for it.
   */
  private Web.Answer readiness() {
    FanoutNode n = node;
    NodeStatus s = n == null ? null : n.status();
    String why = s == null ? "starting" : s.draining() ? "draining" : warming ? "warming up"
        : !s.bus().link().isUp() ? "redis link " + s.bus().link().name().toLowerCase() : null;
    return why == null ? new Web.Answer(200, "{\"ready\":true}")
        : new Web.Answer(503, "{\"ready\":false,\"reason\":\"" + why + "\"}");
  }

  /**
   * The merchant directory as the page's viewer may see it (all of it with authentication off):
   * the page's merchant filters. 401 {"error":..} as /session says, for a refused token.
   */
  private static Web.Answer merchants(Authenticator auth, Merchants directory, Handshake request) {
    Authentication a;
    try {
      a = auth.authenticate(request);
    } catch (RuntimeException e) {
      a = Authentication.unauthorized("authentication failed");
    }
    if (!a.allowed()) {
      return new Web.Answer(a.status(), "{\"error\":" + jsonString(a.reason()) + "}");
    }
    return new Web.Answer(200, directory.json(a));
  }

  private static String jsonString(String s) {
    return new JsonPrimitive(s).toString();
  }
}
