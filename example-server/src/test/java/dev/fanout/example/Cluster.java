package dev.fanout.example;

import static org.awaitility.Awaitility.await;

import dev.fanout.core.EventId;
import dev.fanout.core.internal.DaemonThreads;
import dev.fanout.redis.RedisCluster;
import dev.fanout.redis.RedisPartition;
import dev.fanout.redis.RedisPublisher;
import dev.fanout.redis.RedisServer;
import dev.fanout.redis.RedisStream;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import java.util.function.IntSupplier;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.StreamEntryID;
import redis.clients.jedis.resps.StreamEntry;

/**
 * Two example-server nodes on one real redis-server (or a Redis Cluster, its stream in
 * partitions), a publisher, and many resuming clients: the rig of the reliability suite.
 * Everything on 127.0.0.1, bounded, and stopped by close().
 */
final class Cluster implements AutoCloseable {
  static final String NAMESPACE = "rel";
  static final int MERCHANTS = 20;

  final URI redisUri; // what the nodes and the publisher are given
  private final IntSupplier truthPort; // the server whose stream is the truth, plain port
  private final RedisCluster redisCluster; // or null: one primary
  final RedisStream stream; // as the nodes and the publisher name it
  final int[] ports = new int[2];
  final FeedServer[] nodes = new FeedServer[2];
  final List<Dashboard> clients = new ArrayList<>();
  final HttpClient http = HttpClient.newHttpClient();
  final ScheduledExecutorService timer = Executors.newScheduledThreadPool(2);
  /** Where the clients connect (a handshake blocks its thread). */
  private final ExecutorService connecting =
      Executors.newCachedThreadPool(DaemonThreads.named("dashboard-connect"));
  private final Random random = new Random(42);
  private RedisPublisher publisher;
  private ScheduledFuture<?> dropper;
  private Thread publishing;
  private volatile boolean publishStop;
  private volatile boolean publishPaused;
  final AtomicInteger published = new AtomicInteger();
  final AtomicInteger publishFailures = new AtomicInteger();

  private final Consumer<FeedServer.Config> tweak;

  Cluster(RedisServer redis) throws Exception {
    this(redis, c -> {});
  }

  /** A rig whose nodes get {@code tweak} applied to their configuration. */
  Cluster(RedisServer redis, Consumer<FeedServer.Config> tweak) throws Exception {
    this(redis.uri(), redis::port, tweak);
  }

  /**
   * A rig on any Redis: nodes and publisher use {@code redisUri} (TLS, Sentinel...), the oracle
   * reads the stream from the plain port {@code truthPort} gives (the current primary).
   */
  Cluster(URI redisUri, IntSupplier truthPort, Consumer<FeedServer.Config> tweak)
      throws Exception {
    this(redisUri, truthPort, null, 1, tweak);
  }

  /**
   * A rig on a Redis Cluster whose stream has {@code partitions} partitions: the oracle reads
   * each partition's stream from the primary that serves it now.
   */
  Cluster(RedisCluster redis, int partitions) throws Exception {
    this(redis.uri(), null, redis, partitions, c -> c.partitions = partitions);
  }

  private Cluster(URI redisUri, IntSupplier truthPort, RedisCluster redisCluster,
      int partitions, Consumer<FeedServer.Config> tweak) throws Exception {
    this.redisUri = redisUri;
    this.truthPort = truthPort;
    this.redisCluster = redisCluster;
    RedisStream named = RedisStream.named(NAMESPACE).withRetention(200_000)
        .withPartitions(partitions);
    this.stream = redisCluster != null ? named.tagged() : named;
    this.tweak = tweak;
    for (int i = 0; i < 2; i++) {
      try (ServerSocket s = new ServerSocket(0)) {
        ports[i] = s.getLocalPort();
      }
      startNode(i);
    }
  }

  void startNode(int i) throws Exception {
    FeedServer.Config c = new FeedServer.Config();
    c.host = "127.0.0.1";
    c.port = ports[i];
    c.redis = redisUri;
    c.namespace = NAMESPACE;
    c.generator = false;
    c.retention = 200_000;
    c.shutdownSpread = Duration.ofMillis(300);
    tweak.accept(c);
    nodes[i] = FeedServer.start(c);
  }

  void stopNode(int i) {
    nodes[i].close();
    nodes[i] = null;
  }

  List<URI> uris() {
    return List.of(URI.create("ws://127.0.0.1:" + ports[0] + "/ws"),
        URI.create("ws://127.0.0.1:" + ports[1] + "/ws"));
  }

  List<URI> streams() {
    return List.of(URI.create("http://127.0.0.1:" + ports[0] + "/events"),
        URI.create("http://127.0.0.1:" + ports[1] + "/events"));
  }

  /** {@code n} clients with 1 to 3 random merchants each; every 20th takes all merchants. */
  void addClients(int n) {
    addClients(n, 20);
  }

  /** {@code n} clients; one in {@code allEvery} takes all merchants, the rest 1 to 3. */
  List<Dashboard> addClients(int n, int allEvery) {
    return addClients(n, allEvery, MERCHANTS);
  }

  /**
   * {@code n} clients; one in {@code allEvery} takes all merchants (none for 0), the rest 1 to 3
   * of the first {@code pool}.
   */
  List<Dashboard> addClients(int n, int allEvery, int pool) {
    return addClients(n, allEvery, pool, false);
  }

  /** As {@link #addClients(int, int, int)}; {@code sse}: browsers' EventSources on /events. */
  List<Dashboard> addClients(int n, int allEvery, int pool, boolean sse) {
    List<Dashboard> added = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      Set<String> mine = new HashSet<>();
      if (allEvery == 0 || i % allEvery != 0) {
        int k = 1 + random.nextInt(3);
        while (mine.size() < k) {
          mine.add(merchant(random.nextInt(pool)));
        }
      }
      Dashboard c = new Dashboard(timer, connecting, sse ? streams() : uris(),
          random.nextLong(), mine, sse);
      clients.add(c);
      added.add(c);
      c.start();
    }
    await().atMost(Duration.ofSeconds(60))
        .until(() -> clients.stream().allMatch(Dashboard::subscribed));
    return added;
  }

  static String merchant(int i) {
    return String.format("mch_%02d", i);
  }

  /** Publishes {@code perSecond} events open-loop until stopped, retrying while Redis is away. */
  void startPublishing(int perSecond) {
    startPublishing(perSecond, 0);
  }

  /** As {@link #startPublishing(int)}, each payload padded with {@code padding} bytes. */
  void startPublishing(int perSecond, int padding) {
    String pad = "x".repeat(padding);
    publisher = RedisPublisher.create(redisUri, RedisStream.named(NAMESPACE)
        .withRetention(200_000).withPartitions(stream.partitions()));
    long period = TimeUnit.SECONDS.toNanos(1) / perSecond;
    publishing = new Thread(() -> {
      long next = System.nanoTime();
      int i = 0;
      while (!publishStop) {
        if (publishPaused) {
          LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1)); // the publisher's idle pace
          next = System.nanoTime();
          continue;
        }
        String m = merchant(i % MERCHANTS);
        try {
          publisher.publish(m, Map.of("method", "card", "paymentId", "p" + i),
              "{\"merchantId\":\"" + m + "\",\"i\":" + i + ",\"pad\":\"" + pad
                  + "\",\"publishedAtMicros\":" + Dashboard.Clock.nowMicros() + "}");
          published.incrementAndGet();
          i++;
        } catch (RuntimeException e) {
          publishFailures.incrementAndGet();
        }
        next += period;
        long wait = next - System.nanoTime();
        if (wait > 0) {
          LockSupport.parkNanos(wait); // open-loop pacing of the load
        } else if (wait < -TimeUnit.SECONDS.toNanos(1)) {
          next = System.nanoTime(); // after an outage, do not burst to catch up
        }
      }
    }, "reliability-publisher");
    publishing.start();
  }

  /** Holds (or lets go) the publisher without stopping it. */
  void pausePublishing(boolean paused) {
    publishPaused = paused;
  }

  /** Whether every running node's /health says its Redis link is up. */
  boolean redisUp() throws Exception {
    for (int i = 0; i < 2; i++) {
      if (nodes[i] != null && !http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
          + ports[i] + "/health")).build(), HttpResponse.BodyHandlers.ofString()).body()
          .contains("\"redis\":\"UP\"")) {
        return false;
      }
    }
    return true;
  }

  void stopPublishing() throws InterruptedException {
    publishStop = true;
    publishing.join(10_000);
    publisher.close();
  }

  void awaitPublished(int atLeast) {
    await().atMost(Duration.ofSeconds(120)).until(() -> published.get() >= atLeast);
  }

  /**
   * Every event in the stream, in order (partition by partition, each in its order): the
   * reference the clients are judged against.
   */
  List<Dashboard.Received> reference() {
    List<Dashboard.Received> all = new ArrayList<>();
    if (redisCluster == null) {
      read(truthPort.getAsInt(), "{" + NAMESPACE + "}:stream", -1, all);
      return all;
    }
    for (int p = 0; p < stream.partitions(); p++) {
      RedisPartition part = stream.partition(p);
      read(redisCluster.primaryOf(part.slot()), part.streamKey(),
          stream.partitions() == 1 ? -1 : p, all);
    }
    return all;
  }

  /** The entries of one stream, as ids of {@code partition} (-1: ids that name none). */
  private static void read(int port, String key, int partition,
      List<Dashboard.Received> into) {
    try (Jedis jedis = new Jedis("127.0.0.1", port)) {
      StreamEntryID from = StreamEntryID.MINIMUM_ID;
      while (true) {
        List<StreamEntry> batch = jedis.xrange(key, from, StreamEntryID.MAXIMUM_ID, 5000);
        for (StreamEntry e : batch) {
          // each entry's own epoch: a restart bridges to a new one, and older entries keep the
          // ids they were delivered under
          String epoch = e.getFields().get("e");
          long seq = e.getID().getTime();
          into.add(new Dashboard.Received((partition < 0 ? EventId.of(epoch, seq)
              : EventId.of(partition, epoch, seq)).toString(), e.getFields().get("t"), 0));
        }
        if (batch.size() < 5000) {
          return;
        }
        from = new StreamEntryID(batch.get(batch.size() - 1).getID().getTime() + 1, 0);
      }
    }
  }

  /** Waits until every client holds the last event meant for it. */
  void awaitCaughtUp(List<Dashboard.Received> reference) {
    try {
      await().atMost(Duration.ofSeconds(60)).until(() -> clients.stream()
          .allMatch(c -> caughtUp(c, reference)));
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      clients.stream().filter(c -> !caughtUp(c, reference)).limit(5).forEach(c ->
          System.out.printf("NOT CAUGHT UP merchants=%s last=%s connects=%d closes=%s reading=%s%n",
              c.merchants, c.lastEventId(), c.connects.get(), c.closes, c.isReading()));
      throw e;
    }
  }

  /** Whether the client holds the last event meant for it of every partition. */
  private static boolean caughtUp(Dashboard c, List<Dashboard.Received> reference) {
    Map<Integer, String> lastWanted = new HashMap<>();
    for (Dashboard.Received r : reference) {
      if (c.wants(r.merchant())) {
        lastWanted.put(EventId.parse(r.id()).partition(), r.id());
      }
    }
    for (Map.Entry<Integer, String> e : lastWanted.entrySet()) {
      if (!e.getValue().equals(c.lastEventIdIn(e.getKey()))) {
        return false;
      }
    }
    return true;
  }

  /** The values of series starting with {@code series}, summed over the running nodes' /metrics. */
  double metric(String series) throws Exception {
    double sum = 0;
    for (int i = 0; i < 2; i++) {
      if (nodes[i] == null) {
        continue;
      }
      String body = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + ports[i]
          + "/metrics")).build(), HttpResponse.BodyHandlers.ofString()).body();
      for (String line : body.split("\n")) {
        if (line.startsWith(series)) {
          sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1).trim());
        }
      }
    }
    return sum;
  }

  /** Redis's count of commands processed so far. */
  long redisCommands() {
    try (Jedis jedis = new Jedis("127.0.0.1", truthPort.getAsInt())) {
      String stats = jedis.info("stats");
      for (String line : stats.split("\r\n")) {
        if (line.startsWith("total_commands_processed:")) {
          return Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
        }
      }
      throw new IllegalStateException("no total_commands_processed in INFO stats");
    }
  }

  /**
   * Starts a scenario: {@code clients} clients that drop and reconnect at random throughout
   * (one every 100 ms), {@code rate} events/s, and returns once a third of {@code events} is out.
   */
  void startScenario(int clients, int rate, int events) throws Exception {
    startScenario(clients, 0, rate, events);
  }

  /** As {@link #startScenario(int, int, int)}, with {@code sseClients} EventSources besides. */
  void startScenario(int clients, int sseClients, int rate, int events) throws Exception {
    System.out.printf("MEASURE resources before=%s%n", ReliabilityIntegrationTest.resources());
    addClients(clients);
    addClients(sseClients, 20, MERCHANTS, true);
    Random drops = new Random(7);
    int all = clients + sseClients;
    dropper = timer.scheduleAtFixedRate(() -> this.clients.get(drops.nextInt(all)).drop(),
        100, 100, TimeUnit.MILLISECONDS);
    startPublishing(rate);
    awaitPublished(events / 3);
  }

  /** Ends a scenario once {@code events} are out: judges every client against the stream. */
  Verdict finishScenario(String scenario, int events) throws Exception {
    awaitPublished(events);
    dropper.cancel(false);
    stopPublishing();
    List<Dashboard.Received> reference = reference();
    awaitCaughtUp(reference);
    Verdict v = Verdict.judge(reference, clients);
    long reconnects = clients.stream().mapToLong(c -> c.connects.get() - 1).sum();
    System.out.printf("MEASURE reliability %s events=%d reconnects=%d publish_failures=%d %s%n",
        scenario, reference.size(), reconnects, publishFailures.get(), v);
    System.out.printf("MEASURE resources %s end=%s%n", scenario,
        ReliabilityIntegrationTest.resources());
    v.gaps.forEach(g -> System.out.println("GAP " + g));
    return v;
  }

  @Override
  public void close() throws Exception {
    if (dropper != null) {
      dropper.cancel(true);
    }
    publishStop = true;
    if (publishing != null) {
      publishing.join(10_000);
    }
    clients.forEach(Dashboard::stop);
    timer.shutdownNow();
    connecting.shutdownNow();
    for (int i = 0; i < 2; i++) {
      if (nodes[i] != null) {
        nodes[i].close();
      }
    }
  }

}
