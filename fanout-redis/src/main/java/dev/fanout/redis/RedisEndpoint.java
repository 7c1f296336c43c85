package dev.fanout.redis;

import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManagerFactory;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisClientConfig;
import redis.clients.jedis.JedisPool;
import redis.clients.jedis.JedisPoolConfig;
import redis.clients.jedis.JedisSentinelPool;
import redis.clients.jedis.exceptions.JedisAccessControlException;
import redis.clients.jedis.exceptions.JedisConnectionException;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.exceptions.JedisException;
import redis.clients.jedis.util.Pool;

/**
 * Where Redis is and how to talk to it: a pool for commands, fresh connections for Pub/Sub. The
 * URI forms (docs/redis.md):
 *
 * <ul>
 *   <li>{@code redis://[user:password@]host[:port][/db]};
 *   <li>{@code rediss://...}: the same over TLS, trusting the JVM's truststore, or with {@code
 *       ?ca=<PEM file>} a CA of its own, and with {@code keystore=<PKCS12 file>} (and {@code
 *       keystorePassword=...}) a client certificate;
 *   <li>{@code redis-sentinel://[user:password@]host[:port][,host[:port]...][/db]#master} (and
 *       {@code rediss-sentinel://} for TLS to the data nodes and the sentinels): the primary
 *       that the sentinels name, followed across a promotion. The credentials are the data
 *       nodes'; sentinels are asked without them;
 *   <li>{@code redis-cluster://[user:password@]host[:port][,host[:port]...]} (and {@code
 *       rediss-cluster://} with the TLS options of {@code rediss://}): a Redis Cluster, found
 *       through any of these seeds; commands go to the primary of their slot ({@link
 *       ClusterNodes}).
 * </ul>
 */
final class RedisEndpoint {
  private static final String FORMS = "redis://[user:password@]host:port[/db], rediss://..., "
      + "redis-sentinel://[user:password@]host:port[,host:port...][/db]#master "
      + "or redis-cluster://[user:password@]host:port[,host:port...]";
  private static final List<String> SCHEMES = List.of("redis", "rediss", "redis-sentinel",
      "rediss-sentinel", "redis-cluster", "rediss-cluster");

  private final String display; // the URI without its password, for logs and messages
  private final HostAndPort address; // null with sentinels
  private final String master;
  private final Set<HostAndPort> sentinels;
  private final List<HostAndPort> seeds; // a cluster's; null otherwise
  private final JedisClientConfig config;
  private final JedisClientConfig sentinelConfig;

  private RedisEndpoint(String display, HostAndPort address, String master,
      Set<HostAndPort> sentinels, List<HostAndPort> seeds, JedisClientConfig config,
      JedisClientConfig sentinelConfig) {
    this.display = display;
    this.address = address;
    this.master = master;
    this.sentinels = sentinels;
    this.seeds = seeds;
    this.config = config;
    this.sentinelConfig = sentinelConfig;
  }

  /**
   * Parses one of the URI forms above; commands time out after {@code timeout}.
   *
   * @throws IllegalArgumentException saying what is wrong with the URI (never its password)
   */
  static RedisEndpoint parse(URI uri, Duration timeout) {
    Objects.requireNonNull(uri, "uri");
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase();
    boolean tls = scheme.startsWith("rediss");
    boolean sentinel = scheme.endsWith("-sentinel");
    boolean cluster = scheme.endsWith("-cluster");
    String authority = uri.getRawAuthority();
    String display = mask(uri);
    if (!SCHEMES.contains(scheme) || authority == null || authority.isEmpty()) {
      throw new IllegalArgumentException("Redis URI must look like " + FORMS + ", got " + display);
    }
    int at = authority.lastIndexOf('@');
    String userInfo = at < 0 ? null : authority.substring(0, at);
    String hosts = authority.substring(at + 1);
    DefaultJedisClientConfig.Builder b = DefaultJedisClientConfig.builder()
        .connectionTimeoutMillis((int) timeout.toMillis())
        .socketTimeoutMillis((int) timeout.toMillis())
        .clientName("fanout");
    if (userInfo != null) {
      int colon = userInfo.indexOf(':');
      String user = colon < 0 ? null : decode(userInfo.substring(0, colon));
      String password = decode(colon < 0 ? userInfo : userInfo.substring(colon + 1));
      if (user != null && !user.isEmpty()) {
        b.user(user);
      }
      b.password(password);
    }
    String path = uri.getRawPath();
    if (cluster && path != null && path.length() > 1 && !path.equals("/0")) {
      throw new IllegalArgumentException("a Redis Cluster has only database 0; remove "
          + path + " from " + display);
    }
    if (cluster && uri.getRawFragment() != null) {
      throw new IllegalArgumentException("a cluster URI names no master: remove '#"
          + uri.getRawFragment() + "' from " + display);
    }
    if (path != null && path.length() > 1) {
      try {
        b.database(Integer.parseInt(path.substring(1)));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("the database in " + display
            + " must be a number, as in redis://host:6379/2");
      }
    }
    Map<String, String> query = query(uri.getRawQuery(), display);
    DefaultJedisClientConfig.Builder s = DefaultJedisClientConfig.builder()
        .connectionTimeoutMillis((int) timeout.toMillis())
        .socketTimeoutMillis((int) timeout.toMillis())
        .clientName("fanout");
    if (tls) {
      SSLParameters verifyHost = new SSLParameters();
      verifyHost.setEndpointIdentificationAlgorithm("HTTPS");
      b.ssl(true).sslParameters(verifyHost);
      s.ssl(true).sslParameters(verifyHost);
      if (query.containsKey("ca") || query.containsKey("keystore")) {
        SSLContext context = sslContext(query, display);
        b.sslSocketFactory(context.getSocketFactory());
        s.sslSocketFactory(context.getSocketFactory());
      }
    } else if (!query.isEmpty()) {
      throw new IllegalArgumentException("options " + query.keySet() + " in " + display
          + " need TLS: use rediss://");
    }
    List<HostAndPort> addresses = new ArrayList<>();
    for (String h : hosts.split(",", -1)) {
      addresses.add(hostAndPort(h, sentinel ? 26379 : 6379, display));
    }
    if (cluster) {
      return new RedisEndpoint(display, null, null, null, List.copyOf(addresses), b.build(),
          null);
    }
    if (!sentinel) {
      if (addresses.size() != 1) {
        throw new IllegalArgumentException("several hosts need redis-sentinel://...#master or "
            + "redis-cluster://..., got " + display);
      }
      return new RedisEndpoint(display, addresses.get(0), null, null, null, b.build(), null);
    }
    String master = uri.getFragment();
    if (master == null || master.isEmpty()) {
      throw new IllegalArgumentException("a sentinel URI names its master after '#', as in "
          + "redis-sentinel://host:26379#mymaster, got " + display);
    }
    return new RedisEndpoint(display, null, master, new LinkedHashSet<>(addresses), null,
        b.build(), s.build());
  }

  /** Whether this is a Redis Cluster ({@code redis-cluster://}, {@code rediss-cluster://}). */
  boolean isCluster() {
    return seeds != null;
  }

  /** A cluster's seeds, as the URI lists them. */
  List<HostAndPort> seeds() {
    return seeds;
  }

  /** Whether connections use TLS. */
  boolean isTls() {
    return config.isSsl();
  }

  /** A pool of connections to the primary; with sentinels it follows a promotion by itself. */
  Pool<Jedis> newPool(int maxConnections) {
    if (isCluster()) {
      throw new IllegalStateException("a cluster has a pool per primary: use ClusterNodes");
    }
    JedisPoolConfig pool = poolConfig(maxConnections);
    if (master == null) {
      return new JedisPool(pool, address, config);
    }
    try {
      return new JedisSentinelPool(master, sentinels, pool, config, sentinelConfig);
    } catch (JedisException e) {
      throw new FanoutRedisException(describe(e));
    }
  }

  /** A pool of connections to one server of a cluster, with this endpoint's credentials and TLS. */
  Pool<Jedis> newPool(HostAndPort node, int maxConnections) {
    return new JedisPool(poolConfig(maxConnections), node, config);
  }

  private JedisPoolConfig poolConfig(int maxConnections) {
    JedisPoolConfig pool = new JedisPoolConfig();
    pool.setMaxTotal(maxConnections);
    pool.setMaxIdle(maxConnections);
    pool.setMaxWait(Duration.ofMillis(config.getSocketTimeoutMillis()));
    pool.setJmxEnabled(false);
    return pool;
  }

  /**
   * A connection of its own, outside the pool, for a blocking subscribe: to the primary the
   * sentinels name now.
   */
  Jedis newConnection() {
    if (isCluster()) {
      throw new IllegalStateException("a cluster has no single primary: connect to a node");
    }
    return new Jedis(primary(), config);
  }

  /** A connection of its own to one server of a cluster. */
  Jedis newConnection(HostAndPort node) {
    return new Jedis(node, config);
  }

  /** A sharded Pub/Sub connection to the primary (the one the sentinels name now). */
  PubSubConnection newPubSubConnection() {
    if (isCluster()) {
      throw new IllegalStateException("a cluster has no single primary: connect to a node");
    }
    return new PubSubConnection(primary(), config);
  }

  /** A sharded Pub/Sub connection to one server of a cluster. */
  PubSubConnection newPubSubConnection(HostAndPort node) {
    return new PubSubConnection(node, config);
  }

  /**
   * After a connection error, drops the pool's idle connections: when Redis restarted or failed
   * over, every one of them is dead, and each would fail the next operation that borrows it.
   * With them gone, one operation pays for the outage instead of one per pooled connection.
   */
  static void forgetIdleAfter(JedisException e, Pool<Jedis> pool) {
    if (e instanceof JedisConnectionException) {
      try {
        pool.clear();
      } catch (RuntimeException ignored) {
        // a closed pool has nothing to forget
      }
    }
  }

  /**
   * Connects, authenticates and pings once; a one-line {@link FanoutRedisException} if not. A
   * cluster must answer as one whose every slot is served, and each primary must answer a ping
   * at the address the cluster announces.
   */
  void check() {
    if (isCluster()) {
      checkCluster();
      return;
    }
    try (Jedis jedis = newConnection()) {
      jedis.ping();
    } catch (JedisException e) {
      throw new FanoutRedisException(describe(e), e);
    }
  }

  private void checkCluster() {
    ClusterTopology topology = readTopology(seeds, true);
    List<ClusterTopology.SlotRange> uncovered = topology.uncovered();
    if (!uncovered.isEmpty()) {
      throw new FanoutRedisException("the Redis cluster at " + display + " is down: no primary "
          + "serves slots " + uncovered);
    }
    for (ClusterTopology.Node primary : topology.primaries()) {
      if (topology.slotCount(primary) == 0) {
        continue;
      }
      try (Jedis jedis = newConnection(primary.address())) {
        jedis.ping();
      } catch (JedisException e) {
        throw new FanoutRedisException("the Redis cluster at " + display + " announces the "
            + "primary " + primary.address() + ", which does not answer from here: "
            + describe(e), e);
      }
    }
  }

  /**
   * The cluster's topology ({@code CLUSTER SHARDS}), asked of {@code nodes} in turn until one
   * answers. With {@code checkState}, a node must also say {@code cluster_state:ok}.
   *
   * @throws FanoutRedisException in one line: no node answers, a node is no cluster node or
   *     refuses CLUSTER, the cluster is down, the credentials are refused
   */
  ClusterTopology readTopology(List<HostAndPort> nodes, boolean checkState) {
    List<String> failures = new ArrayList<>();
    for (HostAndPort node : nodes) {
      try (Jedis jedis = newConnection(node)) {
        if (checkState) {
          String info = jedis.clusterInfo();
          if (!info.contains("cluster_state:ok")) {
            throw new FanoutRedisException("the Redis cluster at " + display + " is down ("
                + node + " says cluster_state:" + field(info, "cluster_state") + ")");
          }
        }
        return ClusterTopology.read(jedis, isTls());
      } catch (JedisConnectionException e) {
        if (hasCause(e, SSLHandshakeException.class) || hasCause(e, CertificateException.class)) {
          throw new FanoutRedisException(describe(e), e); // the same on every node
        }
        failures.add(node + ": " + rootMessage(e));
      } catch (JedisDataException e) {
        throw new FanoutRedisException(describeClusterRefusal(node, e), e);
      }
    }
    throw new FanoutRedisException("cannot connect to any node of the Redis cluster at "
        + display + ": " + String.join("; ", failures));
  }

  private String describeClusterRefusal(HostAndPort node, JedisDataException e) {
    String message = e.getMessage() == null ? "" : e.getMessage();
    if (!message.startsWith("NOPERM") && (e instanceof JedisAccessControlException
        || message.contains("WRONGPASS") || message.contains("NOAUTH"))) {
      return describe(e);
    }
    if (message.contains("cluster support disabled")) {
      return "Redis at " + node + " (" + display + ") is not a cluster node (cluster_enabled:0); "
          + "use redis:// or redis-sentinel:// for it";
    }
    return "Redis at " + node + " (" + display + ") refused CLUSTER, which fanout needs to find "
        + "the primaries: " + message;
  }

  private static String field(String info, String name) {
    for (String line : info.split("\\r?\\n")) {
      if (line.startsWith(name + ":")) {
        return line.substring(name.length() + 1).trim();
      }
    }
    return "?";
  }

  private HostAndPort primary() {
    if (master == null) {
      return address;
    }
    List<String> failures = new ArrayList<>();
    for (HostAndPort sentinel : sentinels) {
      try (Jedis s = new Jedis(sentinel, sentinelConfig)) {
        List<String> hostPort = s.sentinelGetMasterAddrByName(master);
        if (hostPort != null && hostPort.size() == 2) {
          return new HostAndPort(hostPort.get(0), Integer.parseInt(hostPort.get(1)));
        }
        failures.add(sentinel + " does not know a master named '" + master + "'");
      } catch (JedisException e) {
        failures.add(sentinel + ": " + rootMessage(e));
      }
    }
    throw new FanoutRedisException("no sentinel named the primary '" + master + "': "
        + String.join("; ", failures));
  }

  /** One line saying what went wrong, for a person who configured this endpoint. */
  String describe(Throwable e) {
    Throwable root = root(e);
    String message = e.getMessage() == null ? "" : e.getMessage();
    if (e instanceof FanoutRedisException) {
      return e.getCause() == null || e.getCause() == e ? message
          : message + ": " + describe(e.getCause());
    }
    if (e instanceof JedisAccessControlException || message.contains("WRONGPASS")
        || message.contains("NOAUTH")) {
      return "Redis at " + display + " refused the credentials: " + message;
    }
    if (hasCause(e, SSLHandshakeException.class) || hasCause(e, CertificateException.class)) {
      return "the TLS certificate of Redis at " + display + " is not trusted (" + root.getMessage()
          + "); trust its CA with ?ca=<PEM file> or the JVM's truststore";
    }
    if (hasCause(e, ConnectException.class) || message.startsWith("Failed to connect")) {
      return "cannot connect to Redis at " + display + ": " + root.getMessage();
    }
    if (e instanceof JedisConnectionException) {
      return "lost the connection to Redis at " + display + ": " + root.getMessage();
    }
    if (message.contains("All sentinels down") || message.contains("seems to be not monitored")) {
      return "the sentinels of " + display + " did not name the primary '" + master + "': "
          + message;
    }
    if (e instanceof JedisDataException) {
      return "Redis at " + display + " answered: " + message;
    }
    return "Redis at " + display + ": " + rootMessage(e);
  }

  @Override
  public String toString() {
    return display;
  }

  private static boolean hasCause(Throwable e, Class<? extends Throwable> type) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (type.isInstance(t)) {
        return true;
      }
    }
    return false;
  }

  private static String rootMessage(Throwable e) {
    Throwable root = root(e);
    return root.getMessage() == null ? root.toString() : root.getMessage();
  }

  private static Throwable root(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    return root;
  }

  private static HostAndPort hostAndPort(String text, int defaultPort, String display) {
    int colon = text.lastIndexOf(':');
    String host = colon < 0 ? text : text.substring(0, colon);
    if (host.isEmpty()) {
      throw new IllegalArgumentException("a host is missing in " + display);
    }
    if (colon < 0) {
      return new HostAndPort(host, defaultPort);
    }
    try {
      int port = Integer.parseInt(text.substring(colon + 1));
      if (port < 1 || port > 65535) {
        throw new NumberFormatException();
      }
      return new HostAndPort(host, port);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("port '" + text.substring(colon + 1) + "' in " + display
          + " is not a port number");
    }
  }

  private static Map<String, String> query(String raw, String display) {
    Map<String, String> options = new LinkedHashMap<>();
    if (raw == null || raw.isEmpty()) {
      return options;
    }
    for (String pair : raw.split("&")) {
      int eq = pair.indexOf('=');
      String key = eq < 0 ? pair : pair.substring(0, eq);
      if (!List.of("ca", "keystore", "keystorePassword").contains(key)) {
        throw new IllegalArgumentException("unknown option '" + key + "' in " + display
            + "; known: ca, keystore, keystorePassword");
      }
      options.put(key, eq < 0 ? "" : decode(pair.substring(eq + 1)));
    }
    return options;
  }

  private static SSLContext sslContext(Map<String, String> options, String display) {
    try {
      TrustManagerFactory trust = null;
      if (options.containsKey("ca")) {
        KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
        store.load(null, null);
        try (InputStream in = Files.newInputStream(Path.of(options.get("ca")))) {
          int i = 0;
          for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
            store.setCertificateEntry("ca" + i++, c);
          }
        }
        trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trust.init(store);
      }
      KeyManagerFactory keys = null;
      if (options.containsKey("keystore")) {
        char[] password = options.getOrDefault("keystorePassword", "").toCharArray();
        KeyStore store = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(Path.of(options.get("keystore")))) {
          store.load(in, password);
        }
        keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        keys.init(store, password);
      }
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(keys == null ? null : keys.getKeyManagers(),
          trust == null ? null : trust.getTrustManagers(), null);
      return context;
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalArgumentException("the TLS options of " + display + " cannot be used: "
          + e.getMessage(), e);
    }
  }

  private static String decode(String s) {
    return URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
  }

  /** The URI with its password replaced by ***, so logs and messages never show it. */
  private static String mask(URI uri) {
    String s = uri.toString();
    String authority = uri.getRawAuthority();
    if (authority == null || !authority.contains("@")) {
      return s;
    }
    String userInfo = authority.substring(0, authority.lastIndexOf('@'));
    int colon = userInfo.indexOf(':');
    String masked = (colon < 0 ? "" : userInfo.substring(0, colon) + ":") + "***";
    return s.replace(userInfo + "@", masked + "@");
  }
}
