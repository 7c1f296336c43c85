package dev.fanout.bench;

import com.google.gson.JsonObject;
import dev.fanout.redis.RedisPublisher;
import dev.fanout.redis.RedisStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The end-to-end load: C WebSocket clients against a server, client i subscribed to merchant
 * {@code mch_(i mod M)} and a fraction to all merchants, and R events/s published open-loop
 * through Redis with the library's publisher. Prints a table and one JSON line.
 */
@Command(name = "load", mixinStandardHelpOptions = true,
    description = "Connect clients, publish through Redis, measure deliveries and latency.")
class Load implements Callable<Integer> {
  @Option(names = "--url", defaultValue = "ws://127.0.0.1:8080/ws", description = "server WebSocket")
  URI url;

  @Option(names = "--redis", defaultValue = "redis://127.0.0.1:6379", description = "Redis")
  URI redis;

  @Option(names = "--namespace", defaultValue = "payments")
  String namespace;

  @Option(names = {"-c", "--clients"}, defaultValue = "2000")
  int clients;

  @Option(names = {"-m", "--merchants"}, defaultValue = "20")
  int merchants;

  @Option(names = "--ops", defaultValue = "0", description = "fraction subscribed to all (0.01 = 1%)")
  double ops;

  @Option(names = {"-r", "--rate"}, defaultValue = "200", description = "events per second")
  int rate;

  @Option(names = "--warmup", defaultValue = "10", description = "seconds before measuring")
  int warmup;

  @Option(names = "--duration", defaultValue = "30", description = "seconds measured")
  int duration;

  @Option(names = "--server-pid", description = "server process for CPU and memory")
  Long serverPid;

  @Option(names = "--http-clients", defaultValue = "8", description = "JDK HttpClients to spread sockets over")
  int httpClients;

  final Tally tally = new Tally();
  final List<LoadClient> all = new ArrayList<>();
  private int[] subscribers;
  private int allSubscribers;
  private final AtomicLong expected = new AtomicLong();
  private final AtomicLong published = new AtomicLong();
  private volatile boolean stop;

  long rssBeforeKib;

  @Override
  public Integer call() throws Exception {
    ServerProcess server = serverPid == null ? null : new ServerProcess(serverPid);
    rssBeforeKib = server == null ? 0 : server.rssKib();
    long connectMs = connectAll();
    System.gc();
    long rssConnected = server == null ? 0 : server.rssKib();
    Thread publisher = startPublisher();
    LockSupport.parkNanos(TimeUnit.SECONDS.toNanos(warmup)); // warm-up: the load runs
    ServerProcess.Cpu cpu0 = server == null ? null : server.cpu();
    tally.windowStartMicros = Tally.nowMicros();
    LockSupport.parkNanos(TimeUnit.SECONDS.toNanos(duration)); // the measured window
    tally.windowEndMicros = Tally.nowMicros();
    ServerProcess.Cpu cpu1 = server == null ? null : server.cpu();
    stop = true;
    publisher.join();
    LockSupport.parkNanos(TimeUnit.SECONDS.toNanos(3)); // stragglers of the window arrive
    report(connectMs, server == null ? null : cpu1.minus(cpu0), rssConnected, null);
    all.forEach(LoadClient::drop);
    return 0;
  }

  long connectAll() throws Exception {
    subscribers = new int[merchants];
    List<HttpClient> https = new ArrayList<>();
    for (int i = 0; i < httpClients; i++) {
      https.add(HttpClient.newHttpClient());
    }
    int everyOps = ops > 0 ? (int) Math.round(1 / ops) : Integer.MAX_VALUE;
    Semaphore inFlight = new Semaphore(200);
    long t0 = System.nanoTime();
    List<CompletableFuture<Boolean>> subscribed = new ArrayList<>();
    for (int i = 0; i < clients; i++) {
      String merchant = i % everyOps == 0 && ops > 0 ? null : "mch_" + (i % merchants);
      if (merchant == null) {
        allSubscribers++;
      } else {
        subscribers[i % merchants]++;
      }
      LoadClient c = new LoadClient(https.get(i % httpClients), url, merchant, tally);
      all.add(c);
      inFlight.acquire();
      c.connect().whenComplete((ws, e) -> inFlight.release());
      subscribed.add(c.subscribed);
    }
    CompletableFuture.allOf(subscribed.toArray(new CompletableFuture[0])).get(300, TimeUnit.SECONDS);
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
  }

  Thread startPublisher() {
    RedisPublisher p = RedisPublisher.create(redis, RedisStream.named(namespace));
    Thread t = new Thread(() -> {
      Random random = new Random(1);
      long period = TimeUnit.SECONDS.toNanos(1) / rate;
      long next = System.nanoTime();
      while (!stop) {
        int m = random.nextInt(merchants);
        long at = Tally.nowMicros();
        try {
          p.publish("mch_" + m, Map.of("method", "card", "status", "captured"),
              "{\"merchantId\":\"mch_" + m + "\",\"status\":\"captured\",\"publishedAtMicros\":"
                  + at + "}");
          published.incrementAndGet();
          if (at >= tally.windowStartMicros && at < tally.windowEndMicros) {
            expected.addAndGet(subscribers[m] + allSubscribers);
          }
        } catch (RuntimeException e) {
          System.err.println("publish failed: " + e.getMessage());
        }
        next += period;
        long wait = next - System.nanoTime();
        if (wait > 0) {
          LockSupport.parkNanos(wait); // open-loop pacing
        }
      }
      p.close();
    }, "publisher");
    t.start();
    return t;
  }

  void report(long connectMs, ServerProcess.Cpu serverCpu, long rssConnectedKib,
      Map<String, Object> extra) {
    Histogram h = tally.latency.getIntervalHistogram();
    long got = tally.received.sum();
    long exp = expected.get();
    JsonObject json = new JsonObject();
    json.addProperty("clients", clients);
    json.addProperty("merchants", merchants);
    json.addProperty("ops_fraction", ops);
    json.addProperty("rate", rate);
    json.addProperty("window_s", duration);
    json.addProperty("connect_all_ms", connectMs);
    json.addProperty("expected", exp);
    json.addProperty("received", got);
    json.addProperty("lost", Math.max(0, exp - got));
    json.addProperty("duplicates", tally.duplicates.sum());
    json.addProperty("order_violations", tally.orderViolations.sum());
    json.addProperty("deliveries_per_s", got / (double) duration);
    json.addProperty("p50_ms", h.getValueAtPercentile(50) / 1000.0);
    json.addProperty("p99_ms", h.getValueAtPercentile(99) / 1000.0);
    json.addProperty("p999_ms", h.getValueAtPercentile(99.9) / 1000.0);
    json.addProperty("max_ms", h.getMaxValue() / 1000.0);
    if (serverCpu != null) {
      json.addProperty("server_cpu_us_per_delivery", got == 0 ? -1 : serverCpu.total() * 1e6 / got);
      json.addProperty("server_sys_us_per_delivery", got == 0 ? -1 : serverCpu.system() * 1e6 / got);
      json.addProperty("server_rss_before_kib", rssBeforeKib);
      json.addProperty("server_rss_connected_kib", rssConnectedKib);
      json.addProperty("server_rss_kib_per_connection",
          (rssConnectedKib - rssBeforeKib) / (double) clients);
    }
    if (extra != null) {
      extra.forEach((k, v) -> json.addProperty(k, String.valueOf(v)));
    }
    json.addProperty("closes", tally.closes.toString());
    System.out.println();
    json.entrySet().forEach(e -> System.out.printf(Locale.ROOT, "%-32s %s%n", e.getKey(),
        e.getValue().isJsonPrimitive() ? e.getValue().getAsString() : e.getValue()));
    System.out.println(json);
  }

  /** Clients connected and receiving; every connection dropped at once; they come back. */
  @Command(name = "storm", mixinStandardHelpOptions = true,
      description = "Drop every client at once; they reconnect with backoff and jitter and resume.")
  static final class Storm extends Load {
    @Option(names = "--jitter", defaultValue = "3000", description = "max reconnect delay, ms")
    int jitterMs;

    @Override
    public Integer call() throws Exception {
      long connectMs = connectAll();
      Thread publisher = startPublisher();
      LockSupport.parkNanos(TimeUnit.SECONDS.toNanos(warmup));
      tallyWindowStart();
      long neverSawAnEvent = all.stream().filter(c -> c.lastEventId == null).count();
      long t0 = System.nanoTime();
      all.forEach(LoadClient::drop);
      Random random = new Random(2);
      List<CompletableFuture<Boolean>> back = new ArrayList<>();
      ScheduledExecutorService timer = Executors.newScheduledThreadPool(2);
      for (LoadClient c : all) {
        CompletableFuture<Boolean> done = new CompletableFuture<>();
        back.add(done);
        timer.schedule(() -> reconnect(c, done, 1), random.nextInt(jitterMs),
            TimeUnit.MILLISECONDS);
      }
      CompletableFuture.allOf(back.toArray(new CompletableFuture[0])).get(300, TimeUnit.SECONDS);
      long allBackMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
      long recovered = back.stream().filter(CompletableFuture::join).count();
      LockSupport.parkNanos(TimeUnit.SECONDS.toNanos(duration));
      tally.windowEndMicros = Tally.nowMicros();
      stopPublishing(publisher);
      LockSupport.parkNanos(TimeUnit.SECONDS.toNanos(3));
      timer.shutdownNow();
      // A client that had seen no event yet has nothing to resume from: it subscribes afresh.
      report(connectMs, null, 0, Map.of("all_resumed_ms", allBackMs, "recovered", recovered,
          "fresh_no_event_yet", neverSawAnEvent,
          "not_recovered_with_an_id", all.size() - recovered - neverSawAnEvent));
      all.forEach(LoadClient::drop);
      return 0;
    }

    private void reconnect(LoadClient c, CompletableFuture<Boolean> done, int attempt) {
      c.connect().thenCompose(ws -> c.subscribed).whenComplete((recovered, e) -> {
        if (e == null) {
          done.complete(recovered);
        } else {
          long delay = Math.min(5000, 200L << Math.min(attempt, 5));
          CompletableFuture.delayedExecutor(delay / 2 + new Random().nextInt((int) delay / 2 + 1),
              TimeUnit.MILLISECONDS).execute(() -> reconnect(c, done, attempt + 1));
        }
      });
    }
  }

  void tallyWindowStart() {
    tally.windowStartMicros = Tally.nowMicros();
  }

  void stopPublishing(Thread publisher) throws InterruptedException {
    stop = true;
    publisher.join();
  }
}
