package dev.fanout.spring;

import dev.fanout.core.Backpressure;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.util.unit.DataSize;

/**
 * fanout's settings under {@code fanout.*}. Each setter checks its value, so a bad one fails
 * startup with a message that names the property.
 */
@ConfigurationProperties(prefix = "fanout")
public class FanoutProperties {
  /**
   * Where the bus and history live: redis://, rediss:// (TLS), redis-sentinel://h:p,h:p#master,
   * rediss-sentinel://, redis-cluster://h:p,h:p or rediss-cluster://. Absent: in memory, one
   * node only.
   */
  private URI redisUri;

  /** Prefix of the Redis keys and channel: several feeds can share one Redis. */
  private String namespace = "fanout";

  /** Events the history retains (per stream), for snapshots and resumes. */
  private int retention = 100_000; // RedisStream.DEFAULT_RETENTION (a literal, for IDEs)

  /** Events a fresh subscribe receives from history before live ones. */
  private int snapshotSize = 50;

  /**
   * Memory for snapshots answered from this node, exactly as Redis would answer them (Redis
   * only); 0 reads every snapshot from Redis.
   */
  private DataSize snapshotCache = DataSize.ofMegabytes(64);

  /** Events a connection may have queued before the backpressure policy acts. */
  private int queueSize = 8192; // Hub.DEFAULT_OUTBOX_CAPACITY (a literal, for IDEs)

  /**
   * What happens to a connection whose queue is full: disconnect (close with 1013; the client
   * resumes, losing nothing), drop-oldest, drop-newest (the client is told how many it missed),
   * or conflate:&lt;attribute&gt; (keep the newest queued event per value of that attribute).
   */
  private String backpressure = "disconnect";

  /** How long a hot connection's events may wait to go out together as one batch frame. */
  private Duration batchLinger = Duration.ZERO;

  /** The WebSocket endpoint's path. */
  private String path = "/ws";

  /**
   * The Server-Sent Events endpoint's path (protocol v1 over text/event-stream, docs/protocol.md);
   * empty for none.
   */
  private String ssePath = "/events";

  /** Browser origins allowed to connect (scheme://host[:port]), or * for any. */
  private List<String> allowedOrigins = new ArrayList<>();

  /** Whether clients that send no Origin header (not browsers) may connect. */
  private boolean allowMissingOrigin = true;

  /** Whether clients may negotiate permessage-deflate (costs CPU per connection per frame). */
  private boolean compression;

  /** How long shutdown spreads its 1001 closes, at most half the shutdown phase's timeout. */
  private Duration shutdownSpread = Duration.ofSeconds(2);

  /**
   * How long a connection the node closed (heartbeat, limits, backpressure, expiry, shutdown) may
   * take to finish its closing handshake; then its socket is closed regardless, so a peer that
   * never reads nor answers holds a file and its buffers no longer.
   */
  private Duration closeDeadline = Duration.ofSeconds(5);

  /**
   * Kernel send buffer of each connection the web server (Tomcat or Jetty) accepts, so a client
   * that stops reading pins a bounded amount of kernel memory; 0 keeps the OS default (Linux
   * grows it up to 4 MB).
   */
  private DataSize sendBuffer = DataSize.ofKilobytes(64);

  private final Heartbeat heartbeat = new Heartbeat();
  private final Limits limits = new Limits();
  private final Aliases aliases = new Aliases();
  private final Warmup warmup = new Warmup();
  private final Jwt jwt = new Jwt();
  private final Redis redis = new Redis();

  public Redis getRedis() {
    return redis;
  }

  /** {@code fanout.redis.*}: the stream's layout in Redis. */
  public static class Redis {
    /**
     * The namespace's partitions, fixed when it is created and recorded in Redis (another count
     * stops startup). Default: 16 on a Redis Cluster, else 1 (the keys and ids of one Redis).
     */
    private Integer partitions;

    public Integer getPartitions() {
      return partitions;
    }

    public void setPartitions(Integer partitions) {
      if (partitions != null && (partitions < 1 || partitions > 1024)) {
        throw new IllegalArgumentException("fanout.redis.partitions must be 1 to 1024, got "
            + partitions);
      }
      this.partitions = partitions;
    }

    /**
     * Replicas a publish must reach before it is acknowledged (Redis {@code WAIT}); a publish
     * not confirmed within {@code replica-timeout} throws {@code UnconfirmedPublishException},
     * naming its id and the count reached. Default 0: acknowledged when the primary ran it.
     */
    private int minReplicas;

    /** How long a publish waits for {@code min-replicas}; default 1s. */
    private Duration replicaTimeout = Duration.ofSeconds(1);

    public int getMinReplicas() {
      return minReplicas;
    }

    public void setMinReplicas(int minReplicas) {
      if (minReplicas < 0) {
        throw new IllegalArgumentException("fanout.redis.min-replicas must not be negative, got "
            + minReplicas);
      }
      this.minReplicas = minReplicas;
    }

    public Duration getReplicaTimeout() {
      return replicaTimeout;
    }

    public void setReplicaTimeout(Duration replicaTimeout) {
      if (replicaTimeout == null || replicaTimeout.toMillis() < 1) {
        throw new IllegalArgumentException("fanout.redis.replica-timeout must be at least 1ms, got "
            + replicaTimeout);
      }
      this.replicaTimeout = replicaTimeout;
    }
  }

  public URI getRedisUri() {
    return redisUri;
  }

  public void setRedisUri(URI redisUri) {
    String scheme = redisUri == null ? null : redisUri.getScheme();
    if (redisUri != null && !List.of("redis", "rediss", "redis-sentinel", "rediss-sentinel",
        "redis-cluster", "rediss-cluster").contains(scheme)) {
      throw new IllegalArgumentException("fanout.redis-uri must be a redis://, rediss://, "
          + "redis-sentinel://, rediss-sentinel://, redis-cluster:// or rediss-cluster:// URI, got "
          + "scheme '" + scheme + "'");
    }
    this.redisUri = redisUri;
  }

  public String getNamespace() {
    return namespace;
  }

  public void setNamespace(String namespace) {
    if (namespace == null || namespace.isBlank()) {
      throw new IllegalArgumentException("fanout.namespace must not be blank");
    }
    this.namespace = namespace;
  }

  public int getRetention() {
    return retention;
  }

  public void setRetention(int retention) {
    this.retention = atLeast("fanout.retention", 1, retention);
  }

  public int getSnapshotSize() {
    return snapshotSize;
  }

  public void setSnapshotSize(int snapshotSize) {
    this.snapshotSize = atLeast("fanout.snapshot-size", 0, snapshotSize);
  }

  public DataSize getSnapshotCache() {
    return snapshotCache;
  }

  public void setSnapshotCache(DataSize snapshotCache) {
    if (snapshotCache == null || snapshotCache.isNegative()) {
      throw new IllegalArgumentException("fanout.snapshot-cache must not be negative, got "
          + snapshotCache);
    }
    this.snapshotCache = snapshotCache;
  }

  public int getQueueSize() {
    return queueSize;
  }

  public void setQueueSize(int queueSize) {
    this.queueSize = atLeast("fanout.queue-size", 1, queueSize);
  }

  public String getBackpressure() {
    return backpressure;
  }

  public void setBackpressure(String backpressure) {
    try {
      Backpressure.named(backpressure);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("fanout.backpressure: " + e.getMessage(), e);
    }
    this.backpressure = backpressure;
  }

  public Duration getBatchLinger() {
    return batchLinger;
  }

  public void setBatchLinger(Duration batchLinger) {
    this.batchLinger = notNegative("fanout.batch-linger", batchLinger);
  }

  public String getPath() {
    return path;
  }

  public void setPath(String path) {
    if (path == null || !path.startsWith("/")) {
      throw new IllegalArgumentException("fanout.path must start with '/', got '" + path + "'");
    }
    this.path = path;
  }

  public String getSsePath() {
    return ssePath;
  }

  public void setSsePath(String ssePath) {
    if (ssePath == null || (!ssePath.isEmpty() && !ssePath.startsWith("/"))) {
      throw new IllegalArgumentException(
          "fanout.sse-path must start with '/' (or be empty: no SSE), got '" + ssePath + "'");
    }
    this.ssePath = ssePath;
  }

  public List<String> getAllowedOrigins() {
    return allowedOrigins;
  }

  public void setAllowedOrigins(List<String> allowedOrigins) {
    this.allowedOrigins = allowedOrigins;
  }

  public boolean isAllowMissingOrigin() {
    return allowMissingOrigin;
  }

  public void setAllowMissingOrigin(boolean allowMissingOrigin) {
    this.allowMissingOrigin = allowMissingOrigin;
  }

  public boolean isCompression() {
    return compression;
  }

  public void setCompression(boolean compression) {
    this.compression = compression;
  }

  public Duration getShutdownSpread() {
    return shutdownSpread;
  }

  public void setShutdownSpread(Duration shutdownSpread) {
    this.shutdownSpread = notNegative("fanout.shutdown-spread", shutdownSpread);
  }

  public Duration getCloseDeadline() {
    return closeDeadline;
  }

  public void setCloseDeadline(Duration closeDeadline) {
    this.closeDeadline = positive("fanout.close-deadline", closeDeadline);
  }

  public DataSize getSendBuffer() {
    return sendBuffer;
  }

  public void setSendBuffer(DataSize sendBuffer) {
    if (sendBuffer == null || sendBuffer.isNegative()
        || sendBuffer.toBytes() > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("fanout.send-buffer must be 0 (the OS default) to 2GB, "
          + "got " + sendBuffer);
    }
    this.sendBuffer = sendBuffer;
  }

  public Heartbeat getHeartbeat() {
    return heartbeat;
  }

  public Limits getLimits() {
    return limits;
  }

  public Aliases getAliases() {
    return aliases;
  }

  public Warmup getWarmup() {
    return warmup;
  }

  public Jwt getJwt() {
    return jwt;
  }

  /** {@code fanout.heartbeat.*}: pings and the timeout after which a silent client is closed. */
  public static class Heartbeat {
    /** How often the server pings each connection. */
    private Duration interval = Duration.ofSeconds(30);

    /** A connection whose pong is this late is closed with 4001 (longer than the interval). */
    private Duration timeout = Duration.ofSeconds(60);

    /** How often a Server-Sent Events stream gets a comment line, so proxies keep it open. */
    private Duration sse = Duration.ofSeconds(15);

    public Duration getInterval() {
      return interval;
    }

    public void setInterval(Duration interval) {
      this.interval = positive("fanout.heartbeat.interval", interval);
    }

    public Duration getTimeout() {
      return timeout;
    }

    public void setTimeout(Duration timeout) {
      this.timeout = positive("fanout.heartbeat.timeout", timeout);
    }

    public Duration getSse() {
      return sse;
    }

    public void setSse(Duration sse) {
      this.sse = positive("fanout.heartbeat.sse", sse);
    }
  }

  /** {@code fanout.limits.*}: what a node and each connection may do. */
  public static class Limits {
    /** Most open connections on this node; over it, handshakes get 503. */
    private int maxConnections = 100_000;

    /** Most open connections per principal (0: unlimited). */
    private int maxConnectionsPerPrincipal;

    /** Largest client message in bytes; larger ones close with 1009. */
    private int maxMessageBytes = 4096;

    /** Most topics in one subscribe. */
    private int maxTopics = 1000;

    /** Subscribes a connection may send per second, sustained. */
    private double subscribesPerSecond = 5;

    /** Subscribes a connection may send at once. */
    private int subscribeBurst = 10;

    public int getMaxConnections() {
      return maxConnections;
    }

    public void setMaxConnections(int maxConnections) {
      this.maxConnections = atLeast("fanout.limits.max-connections", 1, maxConnections);
    }

    public int getMaxConnectionsPerPrincipal() {
      return maxConnectionsPerPrincipal;
    }

    public void setMaxConnectionsPerPrincipal(int max) {
      this.maxConnectionsPerPrincipal =
          atLeast("fanout.limits.max-connections-per-principal", 0, max);
    }

    public int getMaxMessageBytes() {
      return maxMessageBytes;
    }

    public void setMaxMessageBytes(int maxMessageBytes) {
      this.maxMessageBytes = atLeast("fanout.limits.max-message-bytes", 1, maxMessageBytes);
    }

    public int getMaxTopics() {
      return maxTopics;
    }

    public void setMaxTopics(int maxTopics) {
      this.maxTopics = atLeast("fanout.limits.max-topics", 1, maxTopics);
    }

    public double getSubscribesPerSecond() {
      return subscribesPerSecond;
    }

    public void setSubscribesPerSecond(double perSecond) {
      if (!(perSecond > 0)) {
        throw new IllegalArgumentException(
            "fanout.limits.subscribes-per-second must be positive, got " + perSecond);
      }
      this.subscribesPerSecond = perSecond;
    }

    public int getSubscribeBurst() {
      return subscribeBurst;
    }

    public void setSubscribeBurst(int subscribeBurst) {
      this.subscribeBurst = atLeast("fanout.limits.subscribe-burst", 1, subscribeBurst);
    }
  }

  /**
   * {@code fanout.aliases.*}: your clients' own words for the protocol's {@code topics} and
   * {@code filters} (docs/protocol.md), such as {@code topics=merchants} and {@code
   * filters.methods=method}.
   */
  public static class Aliases {
    /** Field names that mean {@code topics}. */
    private List<String> topics = new ArrayList<>();

    /** Field name to the attribute it filters, as {@code filters.<attribute>} would. */
    private Map<String, String> filters = new LinkedHashMap<>();

    public List<String> getTopics() {
      return topics;
    }

    public void setTopics(List<String> topics) {
      this.topics = topics;
    }

    public Map<String, String> getFilters() {
      return filters;
    }

    public void setFilters(Map<String, String> filters) {
      this.filters = filters;
    }
  }

  /**
   * {@code fanout.warmup.*}: loopback connections that handshake, subscribe and close at startup,
   * before the application reports ready, so that a deploy's first burst of reconnects meets a
   * JIT that has compiled the path (docs/benchmarks.md, "The default warm-up").
   */
  public static class Warmup {
    /** Connections per round (five rounds); 0: no warm-up. */
    private int connections;

    /**
     * Headers each warm-up connection sends, for what checks a handshake before fanout does
     * (Spring Security, your Authenticator): for instance {@code Authorization}. The first
     * allowed origin that is not * is sent as {@code Origin} unless given here.
     */
    private Map<String, String> headers = new LinkedHashMap<>();

    public int getConnections() {
      return connections;
    }

    public void setConnections(int connections) {
      this.connections = atLeast("fanout.warmup.connections", 0, connections);
    }

    public Map<String, String> getHeaders() {
      return headers;
    }

    public void setHeaders(Map<String, String> headers) {
      this.headers = headers;
    }
  }

  /**
   * {@code fanout.jwt.*}: JSON Web Tokens checked by fanout-jwt (add {@code dev.fanout:fanout-jwt})
   * when one key source is set (secret, public-key or jwks-url) and the application defines no
   * {@code Authenticator}. In an OAuth2 resource server with none of them set, tokens are checked
   * by Spring Security's {@code JwtDecoder} instead, and only the scope claim and where tokens
   * travel are read from here (docs/jwt.md).
   */
  public static class Jwt {
    /** HS256 shared secret, at least 32 bytes ('openssl rand -base64 32' makes one). */
    private String secret;

    /**
     * Public key as PEM text (-----BEGIN PUBLIC KEY-----): RSA of 2048 bits or more (RS256), EC
     * P-256 (ES256) or Ed25519 (EdDSA).
     */
    private String publicKey;

    /** JWKS URL the keys come from, cached and refreshed (see fanout.jwt.jwks.*). */
    private URI jwksUrl;

    /**
     * Algorithms a token may be signed with: HS256, RS256, ES256, EdDSA. Default: HS256 with a
     * secret, the public key's own, RS256 with a JWKS URL.
     */
    private List<String> algorithms = new ArrayList<>();

    /** The iss a token must carry, exactly; none by default. */
    private String issuer;

    /** The audience a token's aud must name; none by default. */
    private String audience;

    /** Claim the topics a token may see are read from ("*" or a list of topics). */
    private String scopeClaim = "topics"; // ScopeClaim.DEFAULT_NAME (a literal, for IDEs)

    /** How far exp, nbf and iat may be off, at most 5 minutes. */
    private Duration clockSkew = Duration.ofSeconds(60);

    /** Cookie a browser page's token travels in; empty: none (the Bearer header only). */
    private String cookieName = "fanout_token"; // TokenSources.DEFAULT_COOKIE

    /**
     * Query parameter a token may travel in, for clients that can do nothing else; none by
     * default (a URL ends up in access logs).
     */
    private String queryParameter;

    /** Longest token accepted, in bytes, at most 65536; a larger one is refused unread. */
    private int maxTokenBytes = 8192; // TokenSources.DEFAULT_MAX_TOKEN_BYTES

    private final Jwks jwks = new Jwks();

    /** The key sources set, by property name: exactly one is needed. */
    List<String> keySourceNames() {
      List<String> set = new ArrayList<>();
      if (secret != null) {
        set.add("secret");
      }
      if (publicKey != null) {
        set.add("public-key");
      }
      if (jwksUrl != null) {
        set.add("jwks-url");
      }
      return set;
    }

    int keySources() {
      return keySourceNames().size();
    }

    public String getSecret() {
      return secret;
    }

    /** Never echoes the secret, only its length. */
    public void setSecret(String secret) {
      int bytes = secret == null ? 0 : secret.getBytes(StandardCharsets.UTF_8).length;
      if (bytes < 32) {
        throw new IllegalArgumentException("fanout.jwt.secret must be at least 32 bytes (HS256, "
            + "RFC 7518 3.2), got " + bytes + "; make one with 'openssl rand -base64 32'");
      }
      this.secret = secret;
    }

    public String getPublicKey() {
      return publicKey;
    }

    public void setPublicKey(String publicKey) {
      if (publicKey == null || !publicKey.contains("-----BEGIN")) {
        throw new IllegalArgumentException("fanout.jwt.public-key must be a PEM public key "
            + "(-----BEGIN PUBLIC KEY-----)");
      }
      this.publicKey = publicKey;
    }

    public URI getJwksUrl() {
      return jwksUrl;
    }

    public void setJwksUrl(URI jwksUrl) {
      String scheme = jwksUrl == null || jwksUrl.getScheme() == null ? ""
          : jwksUrl.getScheme().toLowerCase(Locale.ROOT);
      if (!(scheme.equals("https") || scheme.equals("http")) || jwksUrl.getHost() == null) {
        throw new IllegalArgumentException("fanout.jwt.jwks-url must be an absolute http(s) URL, "
            + "got " + jwksUrl);
      }
      this.jwksUrl = jwksUrl;
    }

    public List<String> getAlgorithms() {
      return algorithms;
    }

    public void setAlgorithms(List<String> algorithms) {
      for (String a : algorithms) {
        if (ALGORITHMS.stream().noneMatch(known -> known.equalsIgnoreCase(a))) {
          throw new IllegalArgumentException("fanout.jwt.algorithms: '" + a + "' is not one of "
              + String.join(", ", ALGORITHMS));
        }
      }
      this.algorithms = algorithms;
    }

    public String getIssuer() {
      return issuer;
    }

    public void setIssuer(String issuer) {
      this.issuer = notBlank("fanout.jwt.issuer", issuer);
    }

    public String getAudience() {
      return audience;
    }

    public void setAudience(String audience) {
      this.audience = notBlank("fanout.jwt.audience", audience);
    }

    public String getScopeClaim() {
      return scopeClaim;
    }

    public void setScopeClaim(String scopeClaim) {
      this.scopeClaim = notBlank("fanout.jwt.scope-claim", scopeClaim);
    }

    public Duration getClockSkew() {
      return clockSkew;
    }

    public void setClockSkew(Duration clockSkew) {
      notNegative("fanout.jwt.clock-skew", clockSkew);
      if (clockSkew.compareTo(Duration.ofMinutes(5)) > 0) {
        throw new IllegalArgumentException("fanout.jwt.clock-skew must be at most 5m, got "
            + clockSkew);
      }
      this.clockSkew = clockSkew;
    }

    public String getCookieName() {
      return cookieName;
    }

    public void setCookieName(String cookieName) {
      this.cookieName = cookieName == null ? "" : cookieName.strip();
    }

    public String getQueryParameter() {
      return queryParameter;
    }

    public void setQueryParameter(String queryParameter) {
      this.queryParameter = queryParameter == null || queryParameter.isBlank() ? null
          : queryParameter.strip();
    }

    public int getMaxTokenBytes() {
      return maxTokenBytes;
    }

    public void setMaxTokenBytes(int maxTokenBytes) {
      if (maxTokenBytes < 1 || maxTokenBytes > 65_536) {
        throw new IllegalArgumentException("fanout.jwt.max-token-bytes must be 1 to 65536, got "
            + maxTokenBytes);
      }
      this.maxTokenBytes = maxTokenBytes;
    }

    public Jwks getJwks() {
      return jwks;
    }
  }

  /**
   * {@code fanout.jwt.jwks.*}: how the keys of {@code fanout.jwt.jwks-url} are kept fresh. A
   * handshake with a known key never waits for the network.
   */
  public static class Jwks {
    /**
     * Shortest time between two fetches, whatever causes them: a flood of unknown key ids costs
     * one fetch per interval.
     */
    private Duration refreshInterval = Duration.ofSeconds(30);

    /** Age at which the keys are fetched again in the background; at least the interval. */
    private Duration maxAge = Duration.ofMinutes(5);

    /**
     * Longest a handshake with an unknown key id waits for the fetch it causes, at most 10s; 0:
     * refused at once, accepted once the fetch has landed.
     */
    private Duration wait = Duration.ofSeconds(1);

    /** Connect and read timeout of a fetch; the whole answer must come within twice it. */
    private Duration timeout = Duration.ofSeconds(2);

    public Duration getRefreshInterval() {
      return refreshInterval;
    }

    public void setRefreshInterval(Duration refreshInterval) {
      this.refreshInterval = positive("fanout.jwt.jwks.refresh-interval", refreshInterval);
    }

    public Duration getMaxAge() {
      return maxAge;
    }

    public void setMaxAge(Duration maxAge) {
      this.maxAge = positive("fanout.jwt.jwks.max-age", maxAge);
    }

    public Duration getWait() {
      return wait;
    }

    public void setWait(Duration wait) {
      notNegative("fanout.jwt.jwks.wait", wait);
      if (wait.compareTo(Duration.ofSeconds(10)) > 0) {
        throw new IllegalArgumentException("fanout.jwt.jwks.wait must be at most 10s (it holds "
            + "a handshake), got " + wait);
      }
      this.wait = wait;
    }

    public Duration getTimeout() {
      return timeout;
    }

    public void setTimeout(Duration timeout) {
      this.timeout = positive("fanout.jwt.jwks.timeout", timeout);
    }
  }

  /** JwtAlgorithm's names (fanout-jwt is optional: this class must load without it). */
  static final List<String> ALGORITHMS = List.of("HS256", "RS256", "ES256", "EdDSA");

  private static String notBlank(String property, String value) {
    if (value == null || value.isBlank()) {
      throw new IllegalArgumentException(property + " must not be blank");
    }
    return value;
  }

  static int atLeast(String property, int min, int value) {
    if (value < min) {
      throw new IllegalArgumentException(property + " must be at least " + min + ", got " + value);
    }
    return value;
  }

  static Duration notNegative(String property, Duration d) {
    if (d == null || d.isNegative()) {
      throw new IllegalArgumentException(property + " must not be negative, got " + d);
    }
    return d;
  }

  private static Duration positive(String property, Duration d) {
    if (d == null || d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException(property + " must be positive, got " + d);
    }
    return d;
  }
}
