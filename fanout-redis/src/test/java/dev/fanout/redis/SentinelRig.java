package dev.fanout.redis;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.exceptions.JedisConnectionException;

/**
 * A Redis as deployed for high availability, all real processes on loopback: a primary, a
 * replica that replicates through a {@link SilentProxy} (so a test can make it lack the tail),
 * and three sentinels ({@code down-after-milliseconds 1000}) watching {@value #MASTER}.
 */
public final class SentinelRig implements AutoCloseable {
  public static final String MASTER = "mymaster";

  private final RedisServer primary = RedisServer.inMemory();
  private final SilentProxy replication;
  private final RedisServer replica;
  private final List<Process> sentinels = new ArrayList<>();
  private final List<String> sentinelAddresses = new ArrayList<>();
  private final List<Path> dirs = new ArrayList<>();

  public SentinelRig() throws Exception {
    primary.start();
    replication = new SilentProxy(primary.port());
    replica = RedisServer.inMemoryWith("--replicaof", "127.0.0.1",
        Integer.toString(replication.uri().getPort()));
    replica.start();
    await().atMost(Duration.ofSeconds(20))
        .until(() -> info(replica.port(), "replication").contains("master_link_status:up"));
    for (int i = 0; i < 3; i++) {
      startSentinel();
    }
    int first = Integer.parseInt(sentinelAddresses.get(0).split(":")[1]);
    await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> {
      try (Jedis s = new Jedis("127.0.0.1", first)) {
        return !s.sentinelReplicas(MASTER).isEmpty() && s.sentinelSentinels(MASTER).size() == 2;
      }
    });
  }

  /** {@code redis-sentinel://<the three sentinels>#mymaster}. */
  public URI uri() {
    return URI.create("redis-sentinel://" + String.join(",", sentinelAddresses) + "#" + MASTER);
  }

  /** The replica stops receiving what the primary writes from now on. */
  public void blackHoleReplication() {
    replication.goSilent();
  }

  /** SIGKILLs the primary; Sentinel then promotes the replica. */
  public void killPrimary() throws Exception {
    primary.kill();
    replication.close();
  }

  /** Waits until the replica is the primary; returns how long that took from {@code since}. */
  public long awaitPromotion(long since) {
    // Sentinel kills the promoted server's normal clients as it reconfigures (CLIENT KILL), so
    // a poll may meet a reset connection: poll again
    await().atMost(Duration.ofSeconds(60))
        .ignoreExceptionsInstanceOf(JedisConnectionException.class)
        .until(() -> info(replica.port(), "replication").contains("role:master"));
    return System.nanoTime() - since;
  }

  /** The port of the server that is (or becomes) the primary after a failover. */
  public int replicaPort() {
    return replica.port();
  }

  public int primaryPort() {
    return primary.port();
  }

  static String info(int port, String section) {
    try (Jedis j = new Jedis("127.0.0.1", port)) {
      return j.info(section);
    }
  }

  private void startSentinel() throws IOException {
    int port = RedisServer.freePort();
    Path dir = Files.createTempDirectory("fanout-sentinel-");
    dirs.add(dir);
    Path conf = dir.resolve("sentinel.conf");
    Files.writeString(conf, String.join("\n",
        "port " + port, "bind 127.0.0.1", "dir " + dir,
        "sentinel monitor " + MASTER + " 127.0.0.1 " + primary.port() + " 2",
        "sentinel down-after-milliseconds " + MASTER + " 1000",
        // Also how long Sentinel lets a replica replicate from another address (the proxy)
        // before it "fixes" it to the primary's own, which would end the black hole: far longer
        // than any test.
        "sentinel failover-timeout " + MASTER + " 600000",
        "sentinel parallel-syncs " + MASTER + " 1", ""));
    sentinels.add(new ProcessBuilder("redis-server", conf.toString(), "--sentinel")
        .redirectErrorStream(true).redirectOutput(dir.resolve("out.log").toFile()).start());
    sentinelAddresses.add("127.0.0.1:" + port);
  }

  @Override
  public void close() throws Exception {
    for (Process p : sentinels) {
      p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
    replication.close();
    replica.stop();
    primary.stop();
    for (Path dir : dirs) {
      RedisServer.deleteTree(dir);
    }
  }
}
