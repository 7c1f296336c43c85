package dev.fanout.spring;

import dev.fanout.core.Backpressure;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
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
   * Where the bus and history live: redis://, rediss:// (TLS), redis-sentinel://h:p,h:p#master
   * or rediss-sentinel://. Absent: in memory, one node only.
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

  /** Browser origins allowed to connect (scheme://host[:port]), or * for any. */
  private List<String> allowedOrigins = new ArrayList<>();

  /** Whether clients that send no Origin header (not browsers) may connect. */
  private boolean allowMissingOrigin = true;

  /** Whether clients may negotiate permessage-deflate (costs CPU per connection per frame). */
  private boolean compression;

  /** How long shutdown spreads its 1001 closes, at most half the shutdown phase's timeout. */
  private Duration shutdownSpread = Duration.ofSeconds(2);

  private final Heartbeat heartbeat = new Heartbeat();
  private final Limits limits = new Limits();
  private final Aliases aliases = new Aliases();
  private final Warmup warmup = new Warmup();

  public URI getRedisUri() {
    return redisUri;
  }

  public void setRedisUri(URI redisUri) {
    String scheme = redisUri == null ? null : redisUri.getScheme();
    if (redisUri != null && !List.of("redis", "rediss", "redis-sentinel", "rediss-sentinel")
        .contains(scheme)) {
      throw new IllegalArgumentException("fanout.redis-uri must be a redis://, rediss://, "
          + "redis-sentinel:// or rediss-sentinel:// URI, got scheme '" + scheme + "'");
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

  /** {@code fanout.heartbeat.*}: pings and the timeout after which a silent client is closed. */
  public static class Heartbeat {
    /** How often the server pings each connection. */
    private Duration interval = Duration.ofSeconds(30);

    /** A connection whose pong is this late is closed with 4001 (longer than the interval). */
    private Duration timeout = Duration.ofSeconds(60);

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
