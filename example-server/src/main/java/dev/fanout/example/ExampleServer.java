package dev.fanout.example;

import dev.fanout.client.Warmup;
import dev.fanout.core.EventId;
import dev.fanout.core.Hub;
import dev.fanout.core.Publisher;
import dev.fanout.core.Scope;
import dev.fanout.jwt.Jwts;
import dev.fanout.redis.RedisBus;
import dev.fanout.redis.RedisPublisher;
import dev.fanout.redis.RedisStream;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** The example server's command line. Every flag also reads an environment variable. */
@Command(name = "example-server", mixinStandardHelpOptions = true, version = "fanout 0.1.0",
    sortOptions = false,
    description = {"Serves a live payment dashboard: the page at /, the fanout WebSocket at /ws,",
        "Prometheus metrics at /metrics and health at /health.",
        "Without --redis it runs embedded (in-memory bus and history) with a demo payment "
            + "generator."},
    subcommands = {ExampleServer.Publish.class, ExampleServer.Token.class})
public final class ExampleServer implements Callable<Integer> {
  /**
   * The defaults that depend on the mode. A node in Redis mode is one of a fleet behind a load
   * balancer: it takes many connections and warms up before it says ready. The embedded demo is
   * one person's first run: it starts in seconds, and its cap needs no raised open-file limit.
   */
  static final int REDIS_MAX_CONNECTIONS = 100_000;
  static final int EMBEDDED_MAX_CONNECTIONS = 10_000;
  static final int REDIS_WARMUP_CONNECTIONS = 2000;

  @Option(names = "--port", defaultValue = "${env:FANOUT_PORT:-8080}",
      description = "HTTP and WebSocket port (env FANOUT_PORT; default ${DEFAULT-VALUE}).")
  int port;

  @Option(names = "--host", defaultValue = "${env:FANOUT_HOST:-127.0.0.1}",
      description = "Address to bind: 0.0.0.0 for every interface (env FANOUT_HOST; default "
          + "${DEFAULT-VALUE}, this machine only).")
  String host;

  @Option(names = "--redis", defaultValue = "${env:FANOUT_REDIS}",
      description = "Use Redis: redis://[user:password@]host:port[/db], rediss://... (TLS; "
          + "?ca=<PEM file>&keystore=<PKCS12>&keystorePassword=...) or "
          + "redis-sentinel://host:port[,host:port...]#master, redis-cluster://host:port"
          + "[,host:port...] or rediss-cluster://... (env FANOUT_REDIS). Default: embedded.")
  URI redis;

  @Option(names = "--partitions", defaultValue = "${env:FANOUT_PARTITIONS}",
      description = "Redis: the namespace's partitions, fixed when it is created (recorded in "
          + "Redis; another count is refused) (env FANOUT_PARTITIONS; default "
          + RedisStream.DEFAULT_CLUSTER_PARTITIONS + " on a cluster, else 1; docs/redis.md).")
  Integer partitions;

  @Option(names = "--namespace", defaultValue = "${env:FANOUT_NAMESPACE:-fanout}",
      description = "Redis key and channel namespace (env FANOUT_NAMESPACE; "
          + "default ${DEFAULT-VALUE}).")
  String namespace;

  @Option(names = "--allowed-origins", split = ",",
      defaultValue = "${env:FANOUT_ALLOWED_ORIGINS}",
      description = "Browser origins allowed to connect besides the page's own "
          + "(http://localhost:<port> and http://127.0.0.1:<port>, always allowed), "
          + "comma-separated, or * for any (env FANOUT_ALLOWED_ORIGINS).")
  List<String> allowedOrigins;

  @Option(names = "--reject-missing-origin",
      defaultValue = "${env:FANOUT_REJECT_MISSING_ORIGIN:-false}",
      description = "Refuse handshakes without an Origin header (non-browser clients) "
          + "(env FANOUT_REJECT_MISSING_ORIGIN; default ${DEFAULT-VALUE}).")
  boolean rejectMissingOrigin;

  @Mixin
  JwtOptions jwt = new JwtOptions(); // none of its key flags: off, everyone sees everything

  @Option(names = "--heartbeat-interval", defaultValue = "${env:FANOUT_HEARTBEAT_INTERVAL:-30s}",
      converter = DurationConverter.class,
      description = "Ping every (env FANOUT_HEARTBEAT_INTERVAL; default ${DEFAULT-VALUE}).")
  Duration heartbeatInterval;

  @Option(names = "--heartbeat-timeout", defaultValue = "${env:FANOUT_HEARTBEAT_TIMEOUT:-60s}",
      converter = DurationConverter.class,
      description = "Close when the last pong is older than this "
          + "(env FANOUT_HEARTBEAT_TIMEOUT; default ${DEFAULT-VALUE}).")
  Duration heartbeatTimeout;

  @Option(names = "--sse-heartbeat", defaultValue = "${env:FANOUT_SSE_HEARTBEAT:-15s}",
      converter = DurationConverter.class,
      description = "Write a comment on every Server-Sent Events stream this often, so proxies "
          + "keep it open (env FANOUT_SSE_HEARTBEAT; default ${DEFAULT-VALUE}).")
  Duration sseHeartbeat;

  @Option(names = "--max-connections", defaultValue = "${env:FANOUT_MAX_CONNECTIONS}",
      description = "WebSocket connections this node accepts; more get 503 "
          + "(env FANOUT_MAX_CONNECTIONS; default " + REDIS_MAX_CONNECTIONS + " with --redis, "
          + EMBEDDED_MAX_CONNECTIONS + " embedded).")
  Integer maxConnections;

  @Option(names = "--max-connections-per-principal",
      defaultValue = "${env:FANOUT_MAX_CONNECTIONS_PER_PRINCIPAL:-0}",
      description = "Connections one token's principal may hold on this node, 0 for no cap "
          + "(env FANOUT_MAX_CONNECTIONS_PER_PRINCIPAL; default ${DEFAULT-VALUE}).")
  int maxConnectionsPerPrincipal;

  @Option(names = "--replay-events-per-second",
      defaultValue = "${env:FANOUT_REPLAY_EVENTS_PER_SECOND:-20000}",
      description = "Missed events one principal, or one address when unauthenticated, may be "
          + "replayed per second by resumes; a resume over budget gets 1013 "
          + "(env FANOUT_REPLAY_EVENTS_PER_SECOND; default ${DEFAULT-VALUE}).")
  int replayPerSecond;

  @Option(names = "--replay-burst", defaultValue = "${env:FANOUT_REPLAY_BURST:-100000}",
      description = "Missed events one principal may be replayed at once before the per-second "
          + "budget applies (env FANOUT_REPLAY_BURST; default ${DEFAULT-VALUE}).")
  int replayBurst;

  @Option(names = "--max-concurrent-replays",
      defaultValue = "${env:FANOUT_MAX_CONCURRENT_REPLAYS:-10000}",
      description = "Resumes waiting for or reading history at once on this node; one more "
          + "gets 1013 (env FANOUT_MAX_CONCURRENT_REPLAYS; default ${DEFAULT-VALUE}).")
  int maxConcurrentReplays;

  @Option(names = "--compression", defaultValue = "${env:FANOUT_COMPRESSION:-false}",
      description = "Let clients negotiate permessage-deflate: less bandwidth, more CPU per "
          + "connection (env FANOUT_COMPRESSION; default ${DEFAULT-VALUE}).")
  boolean compression;

  @Option(names = "--redis-pool-size", defaultValue = "${env:FANOUT_REDIS_POOL_SIZE:-16}",
      description = "Redis connections for history reads and publishing "
          + "(env FANOUT_REDIS_POOL_SIZE; default ${DEFAULT-VALUE}).")
  int redisPoolSize;

  @Option(names = "--queue-size",
      defaultValue = "${env:FANOUT_QUEUE_SIZE:-" + Hub.DEFAULT_OUTBOX_CAPACITY + "}",
      description = "Events queued per connection before backpressure acts "
          + "(env FANOUT_QUEUE_SIZE; default ${DEFAULT-VALUE}).")
  int queueSize;

  @Option(names = "--batch-linger-ms", defaultValue = "${env:FANOUT_BATCH_LINGER_MS:-2}",
      description = "A connection whose events come faster than one per linger gets them in "
          + "batch frames at most every linger; 0 turns it off "
          + "(env FANOUT_BATCH_LINGER_MS; default ${DEFAULT-VALUE}).")
  int batchLingerMs;

  @Option(names = "--backpressure", defaultValue = "${env:FANOUT_BACKPRESSURE:-disconnect}",
      description = "drop-oldest, drop-newest, disconnect (client resumes) or conflate "
          + "(newest per payment) (env FANOUT_BACKPRESSURE; default ${DEFAULT-VALUE}).")
  String backpressure;

  @Option(names = "--snapshot-size", defaultValue = "${env:FANOUT_SNAPSHOT_SIZE:-50}",
      description = "Events sent on a fresh subscribe (env FANOUT_SNAPSHOT_SIZE; default "
          + "${DEFAULT-VALUE}).")
  int snapshotSize;

  @Option(names = "--transport", defaultValue = "${env:FANOUT_TRANSPORT:-jetty}",
      description = "jetty (the Jakarta adapter on Jetty 12) or netty (fanout-netty: native "
          + "epoll, lighter per connection); the same page, endpoints and flags on both "
          + "(env FANOUT_TRANSPORT; default ${DEFAULT-VALUE}).")
  String transport;

  @Option(names = "--snapshot-cache-mb", defaultValue = "${env:FANOUT_SNAPSHOT_CACHE_MB:-64}",
      description = "Redis mode: memory for snapshots answered from this node, exactly as Redis "
          + "would (0: read every snapshot from Redis) (env FANOUT_SNAPSHOT_CACHE_MB; default "
          + "${DEFAULT-VALUE}).")
  int snapshotCacheMb;

  @Option(names = "--retention", defaultValue = "${env:FANOUT_RETENTION:-100000}",
      description = "Events kept for resume (env FANOUT_RETENTION; default ${DEFAULT-VALUE}).")
  int retention;

  @Option(names = "--rate", defaultValue = "${env:FANOUT_RATE:-20}",
      description = "Demo generator events per second (env FANOUT_RATE; default ${DEFAULT-VALUE}).")
  double rate;

  @Option(names = "--generator", defaultValue = "${env:FANOUT_GENERATOR:-auto}",
      description = "Run the demo generator: on, off, or auto = on when embedded, off with Redis "
          + "(env FANOUT_GENERATOR; default ${DEFAULT-VALUE}).")
  String generator;

  @Option(names = "--shutdown-spread", defaultValue = "${env:FANOUT_SHUTDOWN_SPREAD:-2s}",
      converter = DurationConverter.class,
      description = "On SIGTERM, spread the 1001 closes over this long "
          + "(env FANOUT_SHUTDOWN_SPREAD; default ${DEFAULT-VALUE}).")
  Duration shutdownSpread;

  @Option(names = "--warmup-connections", defaultValue = "${env:FANOUT_WARMUP_CONNECTIONS}",
      description = "At startup, before /health/ready says ready, open this many loopback "
          + "connections (" + Warmup.ROUNDS + " rounds) that handshake and subscribe, so "
          + "the first real burst meets a warm JIT; 0 = off (env FANOUT_WARMUP_CONNECTIONS; "
          + "default " + REDIS_WARMUP_CONNECTIONS + " with --redis, 0 embedded).")
  Integer warmupConnections;

  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }

  /**
   * The command line, failing in one line: a bad value, a port in use or a refused Redis gets
   * "fanout: <what is wrong>" and exit status 2, not a stack trace. FANOUT_DEBUG=1 adds the trace.
   */
  static CommandLine commandLine() {
    return new CommandLine(new ExampleServer()).setExecutionExceptionHandler((e, cmd, parsed) -> {
      String message = e.getMessage() == null ? e.toString() : e.getMessage();
      cmd.getErr().println("fanout: " + message.lines().findFirst().orElse(message));
      if (System.getenv("FANOUT_DEBUG") != null) {
        e.printStackTrace(cmd.getErr());
      }
      return 2;
    });
  }

  FeedServer.Config config() {
    FeedServer.Config c = new FeedServer.Config();
    c.host = host;
    c.port = port;
    c.redis = redis;
    c.namespace = namespace;
    c.allowedOrigins = allowedOrigins == null ? List.of() : List.copyOf(allowedOrigins);
    c.allowMissingOrigin = !rejectMissingOrigin;
    c.jwt = jwt.authenticator();
    c.heartbeatInterval = heartbeatInterval;
    c.heartbeatTimeout = heartbeatTimeout;
    c.sseHeartbeat = sseHeartbeat;
    c.queueSize = queueSize;
    c.maxConnections = maxConnections != null ? maxConnections
        : redis != null ? REDIS_MAX_CONNECTIONS : EMBEDDED_MAX_CONNECTIONS;
    c.maxConnectionsPerPrincipal = maxConnectionsPerPrincipal == 0 ? Integer.MAX_VALUE
        : maxConnectionsPerPrincipal;
    c.replayPerSecond = replayPerSecond;
    c.replayBurst = replayBurst;
    c.maxConcurrentReplays = maxConcurrentReplays;
    c.redisPoolSize = redisPoolSize;
    c.compression = compression;
    if (batchLingerMs < 0 || batchLingerMs > 1000) {
      throw new CommandLine.ParameterException(new CommandLine(this),
          "--batch-linger-ms must be between 0 and 1000, got " + batchLingerMs);
    }
    c.batchLinger = Duration.ofMillis(batchLingerMs);
    FeedServer.policy(backpressure); // fail fast with the list of valid names
    c.backpressure = backpressure;
    c.snapshotSize = snapshotSize;
    if (snapshotCacheMb < 0 || snapshotCacheMb > 1 << 20) {
      throw new CommandLine.ParameterException(new CommandLine(this),
          "--snapshot-cache-mb must be between 0 and 1048576, got " + snapshotCacheMb);
    }
    c.snapshotCacheMb = snapshotCacheMb;
    if (!transport.equals("jetty") && !transport.equals("netty")) {
      throw new CommandLine.ParameterException(new CommandLine(this),
          "--transport must be jetty or netty, got " + transport);
    }
    c.transport = transport;
    c.retention = retention;
    c.partitions = partitions;
    c.rate = rate;
    switch (generator) {
      case "on":
        c.generator = true;
        break;
      case "off":
        c.generator = false;
        break;
      case "auto":
        c.generator = redis == null;
        break;
      default:
        throw new CommandLine.ParameterException(new CommandLine(this),
            "--generator must be on, off or auto, got '" + generator + "'");
    }
    c.shutdownSpread = shutdownSpread;
    c.warmupConnections = warmupConnections != null ? warmupConnections
        : redis != null ? REDIS_WARMUP_CONNECTIONS : 0;
    if (c.warmupConnections < 0) {
      throw new CommandLine.ParameterException(new CommandLine(this),
          "--warmup-connections must not be negative, got " + c.warmupConnections);
    }
    return c;
  }

  @Override
  public Integer call() throws Exception {
    if (redis != null) {
      // a bad configuration (or another partition count) stops here, in one line
      RedisBus.check(redis, stream(redis, namespace, retention, partitions));
    }
    FeedServer server = FeedServer.start(config());
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      server.shutdown();
      stopped.countDown();
    }, "fanout-shutdown"));
    stopped.await();
    return 0;
  }

  /** Plays the payment service: publishes demo payments to Redis through the library. */
  @Command(name = "publish", mixinStandardHelpOptions = true,
      description = "Publish demo payments to Redis, as a payment service would.")
  static final class Publish implements Callable<Integer> {
    @Option(names = "--redis", required = true, defaultValue = "${env:FANOUT_REDIS}",
        description = "Redis URI, as for the server's --redis (env FANOUT_REDIS).")
    URI redis;

    @Option(names = "--namespace", defaultValue = "${env:FANOUT_NAMESPACE:-fanout}",
        description = "Redis namespace (default ${DEFAULT-VALUE}).")
    String namespace;

    @Option(names = "--partitions", defaultValue = "${env:FANOUT_PARTITIONS}",
        description = "The namespace's partitions, as for the server's --partitions.")
    Integer partitions;

    @Option(names = "--rate", defaultValue = "${env:FANOUT_RATE:-20}",
        description = "Events per second (default ${DEFAULT-VALUE}).")
    double rate;

    @Option(names = "--retention", defaultValue = "${env:FANOUT_RETENTION:-100000}",
        description = "Events Redis keeps for resume (default ${DEFAULT-VALUE}).")
    int retention;

    @Option(names = "--duration", converter = DurationConverter.class,
        description = "Stop after this long (default: until interrupted).")
    Duration duration;

    @Option(names = "--min-replicas", defaultValue = "${env:FANOUT_MIN_REPLICAS:-0}",
        description = "Acknowledge a publish only once this many replicas hold it (Redis WAIT); "
            + "one that is not confirmed in --replica-timeout is reported as unconfirmed, with "
            + "its id (default ${DEFAULT-VALUE}: when the primary ran it).")
    int minReplicas;

    @Option(names = "--replica-timeout", defaultValue = "${env:FANOUT_REPLICA_TIMEOUT:-1s}",
        converter = DurationConverter.class,
        description = "How long a publish waits for --min-replicas (default ${DEFAULT-VALUE}).")
    Duration replicaTimeout;

    @Option(names = "--print-ids", description = "Print each acknowledged event id on standard "
        + "output, one per line (the summary then goes to standard error).")
    boolean printIds;

    @Override
    public Integer call() throws Exception {
      RedisStream stream = stream(redis, namespace, retention, partitions);
      RedisBus.check(redis, stream);
      try (RedisPublisher publisher = RedisPublisher.builder(redis, stream)
              .minReplicas(minReplicas, replicaTimeout).build();
          PaymentGenerator generator = new PaymentGenerator(printIds ? printing(publisher)
              : publisher, rate)) {
        generator.start();
        CountDownLatch done = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(done::countDown));
        if (duration == null) {
          done.await();
        } else {
          done.await(duration.toMillis(), TimeUnit.MILLISECONDS);
        }
        generator.close(); // stop before counting, so the count is final
        (printIds ? System.err : System.out).println("published " + generator.published()
            + " events" + (generator.failures() == 0 ? "" : ", " + generator.failures()
            + " not acknowledged"));
      }
      return 0;
    }

    /** Prints the id of each publish Redis acknowledged, as it returns; failures print nothing. */
    private static Publisher printing(Publisher publisher) {
      return (topic, attributes, data) -> {
        EventId id = publisher.publish(topic, attributes, data);
        System.out.println(id);
        return id;
      };
    }
  }

  /** Mints a JWT for --jwt-secret servers. */
  @Command(name = "token", mixinStandardHelpOptions = true, sortOptions = false,
      description = {"Print an HS256 JWT that lets a dashboard see some merchants, for a server "
          + "started with the same --jwt-secret (and --jwt-issuer, --jwt-audience, "
          + "--jwt-scope-claim if it has them).",
          "Pages: open http://host:8080/#token=<jwt>. Tools: Authorization: Bearer <jwt>.",
          "For a --jwt-public-key or --jwks-url server, tokens come from your identity provider, "
              + "or from any JWT library with the private key: RS256, ES256 or EdDSA, with sub, "
              + "exp and the merchants claim (a list of merchants, or \"*\"); docs/jwt.md."})
  static final class Token implements Callable<Integer> {
    @Option(names = "--jwt-secret", defaultValue = "${env:FANOUT_JWT_SECRET}",
        description = "The server's secret, at least 32 bytes (env FANOUT_JWT_SECRET); "
            + "required.")
    String secret;

    @Option(names = "--principal", defaultValue = "operator",
        description = "Who the token is for: its sub (default ${DEFAULT-VALUE}).")
    String principal;

    @Option(names = "--merchants",
        description = "Merchants it may see, comma-separated (default: all, \"*\").")
    String merchants;

    @Option(names = "--ttl", defaultValue = "8h", converter = DurationConverter.class,
        description = "How long it is valid (default ${DEFAULT-VALUE}).")
    Duration ttl;

    @Option(names = "--jwt-issuer", defaultValue = "${env:FANOUT_JWT_ISSUER}",
        description = "Its iss, as the server's --jwt-issuer (env FANOUT_JWT_ISSUER).")
    String issuer;

    @Option(names = "--jwt-audience", defaultValue = "${env:FANOUT_JWT_AUDIENCE}",
        description = "Its aud, as the server's --jwt-audience (env FANOUT_JWT_AUDIENCE).")
    String audience;

    @Option(names = "--jwt-scope-claim", defaultValue = "${env:FANOUT_JWT_SCOPE_CLAIM:-"
        + JwtOptions.DEFAULT_SCOPE_CLAIM + "}",
        description = "The claim the merchants go in, as the server's --jwt-scope-claim "
            + "(env FANOUT_JWT_SCOPE_CLAIM; default ${DEFAULT-VALUE}).")
    String scopeClaim;

    /** The old HMAC tokens' flag: refused with the migration. */
    @Option(names = "--auth-secret", hidden = true)
    String legacySecret;

    @Override
    public Integer call() {
      JwtOptions.refuseLegacySecret(legacySecret);
      if (secret == null) {
        throw new IllegalArgumentException("--jwt-secret (or FANOUT_JWT_SECRET) is required: "
            + "the secret of the server the token is for");
      }
      if (principal.isBlank()) {
        throw new IllegalArgumentException("--principal must not be blank");
      }
      if (ttl.isNegative() || ttl.isZero()) {
        throw new IllegalArgumentException("--ttl must be positive, got " + ttl);
      }
      Scope scope = merchants == null ? Scope.all() : Scope.of(merchantList(merchants));
      Jwts.Minter minter;
      try {
        minter = Jwts.hs256(secret);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("--jwt-secret: " + e.getMessage(), e);
      }
      minter = minter.scopeClaim(scopeClaim);
      if (issuer != null) {
        minter = minter.issuer(issuer);
      }
      if (audience != null) {
        minter = minter.audience(audience);
      }
      System.out.println(minter.mint(principal, scope, ttl));
      return 0;
    }

    /**
     * The merchants of {@code --merchants}: given, it must name at least one, and none blank. A
     * list such as "," once minted a token for every merchant (the one a missing flag means).
     */
    static List<String> merchantList(String value) {
      List<String> list = Stream.of(value.split(",", -1)).map(String::trim).toList();
      if (list.stream().anyMatch(String::isBlank)) {
        throw new IllegalArgumentException("--merchants must name one or more merchants, "
            + "comma-separated, none blank; got '" + value + "'; leave it out for every merchant");
      }
      return list;
    }
  }

  /**
   * The stream of a namespace: P partitions as given, or by default {@value
   * RedisStream#DEFAULT_CLUSTER_PARTITIONS} on a cluster and 1 elsewhere (today's keys and ids).
   */
  static RedisStream stream(URI redis, String namespace, int retention, Integer partitions) {
    return RedisStream.named(namespace).withRetention(retention)
        .withPartitions(partitions != null ? partitions : RedisStream.defaultPartitions(redis));
  }

  /** Reads 500ms, 30s, 2m, 8h, or an ISO-8601 duration. */
  static final class DurationConverter implements ITypeConverter<Duration> {
    @Override
    public Duration convert(String value) {
      String v = value.trim().toLowerCase(Locale.ROOT);
      try {
        if (v.endsWith("ms")) {
          return Duration.ofMillis(Long.parseLong(v.substring(0, v.length() - 2)));
        }
        long n = Long.parseLong(v.substring(0, v.length() - 1));
        switch (v.charAt(v.length() - 1)) {
          case 's':
            return Duration.ofSeconds(n);
          case 'm':
            return Duration.ofMinutes(n);
          case 'h':
            return Duration.ofHours(n);
          default:
            return Duration.parse(value);
        }
      } catch (RuntimeException e) {
        throw new CommandLine.TypeConversionException(
            "'" + value + "' is not a duration; use e.g. 500ms, 30s, 2m or 8h");
      }
    }
  }
}
