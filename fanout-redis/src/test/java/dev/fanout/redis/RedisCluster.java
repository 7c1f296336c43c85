package dev.fanout.redis;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.args.ClientType;
import redis.clients.jedis.params.ClientKillParams;
import redis.clients.jedis.params.MigrateParams;
import redis.clients.jedis.resps.ClusterShardInfo;
import redis.clients.jedis.resps.ClusterShardNodeInfo;

/**
 * A real Redis Cluster on loopback: {@code redis-server --cluster-enabled yes} processes on free
 * ports (each with its own directory, nodes.conf and cluster bus port), joined by {@code
 * redis-cli --cluster create}. A test can SIGKILL a primary and wait for its replica's
 * promotion, and move a slot to another primary step by step. {@link #close()} kills every
 * process and deletes every file, whatever the test did. Never touches 6379.
 *
 * <pre>{@code
 * try (RedisCluster cluster = RedisCluster.start(3, 1)) {
 *   URI uri = cluster.uri(); // redis-cluster://127.0.0.1:<p1>,127.0.0.1:<p2>
 * }
 * }</pre>
 */
public final class RedisCluster implements AutoCloseable {
  private final Path root;
  private final boolean tls;
  private final List<Server> servers = new ArrayList<>();

  /** One redis-server of the cluster. */
  static final class Server {
    final int port;
    final int busPort;
    final int tlsPort;
    final Path dir;
    Process process;

    Server(int port, int busPort, int tlsPort, Path dir) {
      this.port = port;
      this.busPort = busPort;
      this.tlsPort = tlsPort;
      this.dir = dir;
    }
  }

  private RedisCluster(Path root, boolean tls) {
    this.root = root;
    this.tls = tls;
  }

  /**
   * {@code primaries} primaries with {@code replicas} replicas each, slots as {@code redis-cli
   * --cluster create} splits them, up ({@code cluster_state:ok}) and every replica in sync.
   * {@code extraArgs} go to every redis-server.
   */
  public static RedisCluster start(int primaries, int replicas, String... extraArgs)
      throws IOException, InterruptedException {
    return start(false, primaries, replicas, extraArgs);
  }

  /**
   * {@link #start} with TLS as well: every node also listens with TLS on a port of its own
   * (a certificate for 127.0.0.1 from a test CA, {@link #caFile()}), the cluster bus and
   * replication use TLS ({@code tls-cluster yes}), so the cluster announces its TLS ports; the
   * plain ports stay open for the rig itself.
   */
  public static RedisCluster startTls(int primaries, int replicas)
      throws IOException, InterruptedException {
    return start(true, primaries, replicas);
  }

  private static RedisCluster start(boolean tls, int primaries, int replicas,
      String... extraArgs) throws IOException, InterruptedException {
    RedisCluster cluster = new RedisCluster(Files.createTempDirectory("fanout-cluster-"), tls);
    try {
      if (tls) {
        TestCertificates.create(cluster.root);
      }
      cluster.launch(primaries * (1 + replicas), extraArgs);
      cluster.create(replicas);
      return cluster;
    } catch (IOException | InterruptedException | RuntimeException | Error e) {
      cluster.close();
      throw e;
    }
  }

  private void launch(int count, String... extraArgs) throws IOException, InterruptedException {
    for (int i = 0; i < count; i++) {
      Path dir = Files.createDirectory(root.resolve("node-" + i));
      Server s = new Server(RedisServer.freePort(), RedisServer.freePort(),
          tls ? RedisServer.freePort() : 0, dir);
      servers.add(s);
      List<String> cmd = new ArrayList<>(List.of("redis-server",
          "--port", Integer.toString(s.port), "--bind", "127.0.0.1",
          "--cluster-enabled", "yes", "--cluster-port", Integer.toString(s.busPort),
          "--cluster-config-file", dir.resolve("nodes.conf").toString(),
          "--cluster-node-timeout", "1000", "--save", "", "--appendonly", "no",
          "--dir", dir.toString(), "--logfile", dir.resolve("redis.log").toString(),
          "--daemonize", "no"));
      if (tls) {
        cmd.addAll(List.of("--tls-port", Integer.toString(s.tlsPort),
            "--tls-cert-file", root.resolve("server.pem").toString(),
            "--tls-key-file", root.resolve("server.key").toString(),
            "--tls-ca-cert-file", root.resolve("ca.pem").toString(),
            "--tls-cluster", "yes", "--tls-replication", "yes", "--tls-auth-clients", "no"));
      }
      cmd.addAll(List.of(extraArgs));
      s.process = new ProcessBuilder(cmd).redirectErrorStream(true)
          .redirectOutput(dir.resolve("stdout.log").toFile()).start();
    }
    for (Server s : servers) {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (!answers(s.port)) {
        if (!s.process.isAlive() || System.nanoTime() > deadline) {
          throw new IllegalStateException("redis-server on " + s.port + " did not start: "
              + Files.readString(s.dir.resolve("stdout.log")));
        }
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5)); // polls the condition
      }
    }
  }

  private void create(int replicas) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of("redis-cli", "--cluster", "create"));
    for (Server s : servers) {
      cmd.add("127.0.0.1:" + s.port);
    }
    cmd.addAll(List.of("--cluster-replicas", Integer.toString(replicas), "--cluster-yes"));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IllegalStateException("redis-cli --cluster create failed: " + out);
    }
    int primaries = servers.size() / (1 + replicas);
    await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> settled(primaries,
        replicas));
  }

  /** Every live node says ok and sees the same shards: all slots, the replicas in sync. */
  private boolean settled(int primaries, int replicas) {
    for (Server s : live()) {
      try (Jedis j = new Jedis("127.0.0.1", s.port)) {
        if (!j.clusterInfo().contains("cluster_state:ok")) {
          return false;
        }
        List<ClusterShardInfo> shards = j.clusterShards();
        int slots = 0;
        int withSlots = 0;
        for (ClusterShardInfo shard : shards) {
          int n = 0;
          for (List<Long> r : shard.getSlots()) {
            n += (int) (r.get(1) - r.get(0) + 1);
          }
          if (n == 0) {
            continue;
          }
          withSlots++;
          slots += n;
          long online = shard.getNodes().stream()
              .filter(x -> "online".equals(x.getHealth())).count();
          if (online != 1 + replicas) {
            return false;
          }
        }
        if (slots != 16384 || withSlots != primaries) {
          return false;
        }
        String replication = j.info("replication");
        if (replication.contains("role:slave")
            && !replication.contains("master_link_status:up")) {
          return false;
        }
      }
    }
    return true;
  }

  /** {@code rediss-cluster://} with a seed's TLS port, trusting the test CA. */
  public URI tlsUri() {
    return URI.create("rediss-cluster://127.0.0.1:" + servers.get(0).tlsPort + "?ca="
        + caFile());
  }

  /** The test CA's certificate (PEM), for {@link #startTls}. */
  public Path caFile() {
    return root.resolve("ca.pem");
  }

  /** The TLS port of the server whose plain port is {@code port}. */
  public int tlsPortOf(int port) {
    return server(port).tlsPort;
  }

  /** {@code redis-cluster://} with two of the nodes as seeds. */
  public URI uri() {
    return URI.create("redis-cluster://127.0.0.1:" + servers.get(0).port + ",127.0.0.1:"
        + servers.get(1).port);
  }

  /** The ports of the servers that are primaries now, with the slots they serve. */
  public List<Integer> primaryPorts() {
    List<Integer> out = new ArrayList<>();
    for (ClusterShardInfo shard : shards()) {
      for (ClusterShardNodeInfo n : shard.getNodes()) {
        if ("master".equals(n.getRole()) && "online".equals(n.getHealth())
            && !shard.getSlots().isEmpty()) {
          out.add(n.getPort().intValue());
        }
      }
    }
    return out;
  }

  /** The port of the primary serving {@code slot} now. */
  public int primaryOf(int slot) {
    for (ClusterShardInfo shard : shards()) {
      for (List<Long> r : shard.getSlots()) {
        if (slot >= r.get(0) && slot <= r.get(1)) {
          for (ClusterShardNodeInfo n : shard.getNodes()) {
            if ("master".equals(n.getRole())) {
              return n.getPort().intValue();
            }
          }
        }
      }
    }
    throw new IllegalStateException("no primary serves slot " + slot);
  }

  /** The port of a replica of the primary on {@code primaryPort}. */
  public int replicaOf(int primaryPort) {
    for (ClusterShardInfo shard : shards()) {
      boolean mine = shard.getNodes().stream().anyMatch(n -> "master".equals(n.getRole())
          && n.getPort() == primaryPort);
      if (mine) {
        for (ClusterShardNodeInfo n : shard.getNodes()) {
          if (!"master".equals(n.getRole()) && "online".equals(n.getHealth())) {
            return n.getPort().intValue();
          }
        }
      }
    }
    throw new IllegalStateException("the primary on " + primaryPort + " has no live replica");
  }

  /** CLUSTER SHARDS as a live node sees it. */
  public List<ClusterShardInfo> shards() {
    try (Jedis j = new Jedis("127.0.0.1", live().get(0).port)) {
      return j.clusterShards();
    }
  }

  /** A connection to the node on {@code port} (close it). */
  public Jedis node(int port) {
    return new Jedis("127.0.0.1", port);
  }

  /**
   * SIGKILLs the primary on {@code port} and waits until its replica serves its slots and the
   * live nodes say ok; returns the port of the promoted replica.
   */
  public int killPrimary(int port) throws InterruptedException {
    int replica = replicaOf(port);
    Server s = server(port);
    s.process.destroyForcibly();
    s.process.waitFor(10, TimeUnit.SECONDS);
    awaitPromotion(replica);
    return replica;
  }

  /**
   * A failover that loses the tail: stops the replica of the primary on {@code port} (SIGSTOP)
   * and cuts its replication link (CLIENT KILL TYPE replica), runs {@code tail} (what it runs on
   * the primary from then on never reaches the replica), SIGKILLs the primary, lets the replica
   * go on (SIGCONT) and waits until it serves the primary's slots; returns its port. A replica
   * stopped for longer than the node timeout (1 s) is marked failed meanwhile, and clears once it
   * answers again; one stopped for longer than its validity (10 node timeouts) could not be
   * promoted: keep {@code tail} to a few seconds.
   */
  public int killPrimaryLosingTail(int port, Runnable tail) throws InterruptedException {
    int replica = replicaOf(port);
    Server r = server(replica);
    signal(r, "STOP");
    try {
      try (Jedis j = node(port)) {
        j.clientKill(ClientKillParams.clientKillParams().type(ClientType.REPLICA));
      }
      tail.run();
      Server s = server(port);
      s.process.destroyForcibly();
      s.process.waitFor(10, TimeUnit.SECONDS);
    } finally {
      signal(r, "CONT");
    }
    awaitPromotion(replica);
    return replica;
  }

  private void awaitPromotion(int replica) {
    await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> {
      try (Jedis j = node(replica)) {
        if (!j.info("replication").contains("role:master")) {
          return false;
        }
      }
      for (Server other : live()) {
        try (Jedis j = node(other.port)) {
          if (!j.clusterInfo().contains("cluster_state:ok")) {
            return false;
          }
        }
      }
      return true;
    });
  }

  private static void signal(Server s, String signal) {
    try {
      Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(s.process.pid()))
          .start();
      if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
        throw new IllegalStateException("kill -" + signal + " failed");
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Step one of moving {@code slot} to {@code targetPort}: IMPORTING there, MIGRATING here. */
  public void beginMove(int slot, int targetPort) {
    int source = primaryOf(slot);
    try (Jedis from = node(source); Jedis to = node(targetPort)) {
      to.clusterSetSlotImporting(slot, from.clusterMyId());
      from.clusterSetSlotMigrating(slot, to.clusterMyId());
    }
  }

  /** Step two: MIGRATE every key of {@code slot} from its primary to {@code targetPort}. */
  public int migrateKeys(int slot, int targetPort) {
    int moved = 0;
    try (Jedis from = node(primaryOf(slot))) {
      while (true) {
        List<String> keys = from.clusterGetKeysInSlot(slot, 100);
        if (keys.isEmpty()) {
          return moved;
        }
        from.migrate("127.0.0.1", targetPort, 5000, MigrateParams.migrateParams(),
            keys.toArray(new String[0]));
        moved += keys.size();
      }
    }
  }

  /** Step three: {@code slot} belongs to {@code targetPort}, as every primary is told. */
  public void finishMove(int slot, int targetPort) {
    int source = primaryOf(slot);
    String target;
    try (Jedis to = node(targetPort)) {
      target = to.clusterMyId();
      to.clusterSetSlotNode(slot, target);
    }
    try (Jedis from = node(source)) {
      from.clusterSetSlotNode(slot, target);
    }
    for (int port : primaryPorts()) {
      if (port != source && port != targetPort) {
        try (Jedis other = node(port)) {
          other.clusterSetSlotNode(slot, target);
        }
      }
    }
    await().atMost(Duration.ofSeconds(10)).until(() -> primaryOf(slot) == targetPort);
  }

  /** Moves {@code slot} with its keys to {@code targetPort}, all three steps. */
  public void moveSlot(int slot, int targetPort) {
    beginMove(slot, targetPort);
    migrateKeys(slot, targetPort);
    finishMove(slot, targetPort);
  }

  private Server server(int port) {
    return servers.stream().filter(s -> s.port == port).findFirst().orElseThrow();
  }

  private List<Server> live() {
    return servers.stream().filter(s -> s.process != null && s.process.isAlive()).toList();
  }

  private static boolean answers(int port) {
    try (Jedis j = new Jedis("127.0.0.1", port)) {
      return "PONG".equals(j.ping());
    } catch (RuntimeException e) {
      return false;
    }
  }

  /** Kills every process and deletes every file. */
  @Override
  public void close() {
    for (Server s : servers) {
      if (s.process != null) {
        s.process.destroyForcibly();
      }
    }
    for (Server s : servers) {
      if (s.process != null) {
        try {
          s.process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    }
    RedisServer.deleteTree(root);
  }
}
