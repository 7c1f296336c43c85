package dev.fanout.bench;

import com.google.gson.JsonObject;
import dev.fanout.core.Publisher;
import dev.fanout.redis.RedisPublisher;
import dev.fanout.redis.RedisStream;
import java.net.URI;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import redis.clients.jedis.JedisPooled;

/**
 * The end-to-end load: C WebSocket (or Server-Sent Events) clients against a server, client i
 * subscribed to merchant {@code mch_(i mod M)} and a fraction to all merchants, and R events/s
 * published open-loop through Redis with the library's publisher (R=0: idle clients). Prints a
 * table and one JSON line.
 */
@Command(name = "load", mixinStandardHelpOptions = true,
    description = "Connect clients, publish through Redis, measure deliveries and latency.")
class Load implements Callable<Integer> {
  @Option(names = "--url", defaultValue = "ws://127.0.0.1:8080/ws",
      description = "server WebSocket; with --transport sse a ws:// URL stands for "
          + "http://<its host:port>/events, or give the stream's http:// URL")
  URI url;

  @Option(names = "--transport", defaultValue = "websocket",
      description = "websocket (default) or sse: each client a GET /events?merchants=<m> "
          + "stream, resuming with Last-Event-ID")
  Clients.Transport transport;

  @Option(names = "--redis", defaultValue = "redis://127.0.0.1:6379", description = "Redis")
  URI redis;

  @Option(names = "--namespace", defaultValue = "payments")
  String namespace;

  @Option(names = "--partitions", description = "the namespace's partitions, as the server's "
      + "--partitions (default: 16 on redis-cluster://, else 1)")
  Integer partitions;

  @Option(names = {"-c", "--clients"}, defaultValue = "2000")
  int clients;

  @Option(names = {"-m", "--merchants"}, defaultValue = "20")
  int merchants;

  @Option(names = "--ops", defaultValue = "0",
      description = "fraction subscribed to all (0.01 = 1%%)")
  double ops;

  @Option(names = {"-r", "--rate"}, defaultValue = "200",
      description = "events per second; 0: none (idle clients, for memory per connection)")
  int rate;

  @Option(names = "--warmup", defaultValue = "10", description = "seconds before measuring")
  int warmup;

  @Option(names = "--duration", defaultValue = "30", description = "seconds measured")
  int duration;

  @Option(names = "--server-pid", description = "server process for CPU and memory")
  Long serverPid;

  @Option(names = "--io-threads", defaultValue = "2", description = "selector threads per process")
  int ioThreads;

  @Option(names = "--workers", defaultValue = "0",
      description = "processes holding the clients; 0 (default) = one per 10,000 clients, "
          + "in this process below that (a process may open only as many sockets as its "
          + "open-file limit)")
  int workers;

  @Option(names = "--plain", description = "speak the seed's plain protocol, for the Go "
      + "reference (../shared/reference/go-seed): a client counts as subscribed once its subscribe "
      + "frame is sent (no 'subscribed' answer), event ids are plain numbers, no resumes")
  boolean plain;

  @Option(names = "--reconnect", negatable = true, defaultValue = "true", fallbackValue = "true",
      description = "a client the server closes comes back after 100-200 ms and resumes, as a "
      + "page does (default); with --no-reconnect it stays closed and what it misses is lost")
  boolean reconnect;

  @Option(names = "--publish-channel", description = "publish with PUBLISH <channel> <event JSON> "
      + "(the Go reference's way) instead of through fanout's stream")
  String publishChannel;

  /** Clients per worker process when --workers is not given: well inside a 20,000-file limit. */
  static final int CLIENTS_PER_WORKER = 10_000;

  private int[] subscribers;
  private int allSubscribers;
  private final AtomicLong expected = new AtomicLong();
  private final AtomicLong published = new AtomicLong();
  private volatile boolean stop;
  volatile long windowStartMicros = Long.MAX_VALUE;
  volatile long windowEndMicros = Long.MAX_VALUE;
  long rssBeforeKib;

  @Override
  public Integer call() throws Exception {
    ServerProcess server = serverPid == null ? null : new ServerProcess(serverPid);
    rssBeforeKib = server == null ? 0 : server.rssKib();
    try (Clients all = openClients()) {
      long connectMs = all.connect();
      long rssConnected = server == null ? 0 : server.rssKib();
      // for scripts that look at the server while the clients are connected (sse-idle.sh)
      System.err.printf(Locale.ROOT, "connected: %d clients in %d ms%n", clients, connectMs);
      windowStartMicros = Tally.nowMicros() + TimeUnit.SECONDS.toMicros(warmup);
      windowEndMicros = windowStartMicros + TimeUnit.SECONDS.toMicros(duration);
      all.window(windowStartMicros, windowEndMicros);
      Thread publisher = startPublisher();
      sleepUntil(windowStartMicros); // warm-up: the load runs
      ServerProcess.Cpu cpu0 = server == null ? null : server.cpu();
      sleepUntil(windowEndMicros); // the measured window
      ServerProcess.Cpu cpu1 = server == null ? null : server.cpu();
      stopPublishing(publisher);
      LockSupport.parkNanos(TimeUnit.SECONDS.toNanos(3)); // stragglers of the window arrive
      report(all.seen(), connectMs, server == null ? null : cpu1.minus(cpu0), rssConnected, null);
    }
    return 0;
  }

  /**
   * The run's clients, in this process or in worker processes; also counts who hears what. First
   * it publishes one event on a topic no client follows, so the stream exists when the clients
   * subscribe, as it does in production (and the server can give them a resume position).
   */
  Clients openClients() throws Exception {
    if (publishChannel == null) {
      try (RedisPublisher seed = RedisPublisher.create(redis, stream())) {
        seed.publish("bench_seed", Map.of(), "{}");
      }
    }
    subscribers = new int[merchants];
    for (int i = 0; i < clients; i++) {
      String m = Clients.merchantOf(i, merchants, ops);
      if (m == null) {
        allSubscribers++;
      } else {
        subscribers[i % merchants]++;
      }
    }
    if (plain && transport == Clients.Transport.SSE) {
      throw new IllegalArgumentException("--plain speaks WebSocket only");
    }
    Clients.Mode mode = new Clients.Mode(plain, reconnect, transport);
    URI target = clientsUrl();
    return processes() <= 1 ? new LocalClients(target, 0, clients, merchants, ops, ioThreads, mode)
        : new WorkerClients(processes(), target, clients, merchants, ops, ioThreads, mode);
  }

  /** Where the clients connect: --url, or for SSE the /events of a ws:// URL's host and port. */
  URI clientsUrl() {
    if (transport != Clients.Transport.SSE || !url.getScheme().startsWith("ws")) {
      return url;
    }
    return URI.create("http://" + url.getHost() + ":" + url.getPort() + "/events");
  }

  /** The stream the server reads: the same partitions, by the same default rule. */
  RedisStream stream() {
    return RedisStream.named(namespace).withPartitions(partitions != null ? partitions
        : RedisStream.defaultPartitions(redis));
  }

  int processes() {
    return workers > 0 ? workers : (clients + CLIENTS_PER_WORKER - 1) / CLIENTS_PER_WORKER;
  }

  static void sleepUntil(long micros) {
    long wait;
    while ((wait = micros - Tally.nowMicros()) > 0) {
      LockSupport.parkNanos(TimeUnit.MICROSECONDS.toNanos(wait));
    }
  }

  Thread startPublisher() {
    Publisher p;
    AutoCloseable closing;
    if (publishChannel == null) {
      RedisPublisher fanout = RedisPublisher.create(redis, stream());
      p = fanout;
      closing = fanout;
    } else { // the seed's way: the JSON on a channel, nothing kept
      JedisPooled jedis = new JedisPooled(redis);
      p = (topic, attributes, data) -> {
        jedis.publish(publishChannel, data);
        return null;
      };
      closing = jedis;
    }
    Thread t = new Thread(() -> {
      Random random = new Random(1);
      long period = rate <= 0 ? 0 : TimeUnit.SECONDS.toNanos(1) / rate;
      long next = System.nanoTime();
      while (!stop && rate <= 0) { // idle: nothing published
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
      }
      while (!stop) {
        int m = random.nextInt(merchants);
        long at = Tally.nowMicros();
        try {
          p.publish("mch_" + m, Map.of("method", "card", "status", "captured"),
              "{\"merchantId\":\"mch_" + m + "\",\"status\":\"captured\",\"publishedAtMicros\":"
                  + at + "}");
          published.incrementAndGet();
          if (at >= windowStartMicros && at < windowEndMicros) {
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
      try {
        closing.close();
      } catch (Exception e) {
        System.err.println("closing the publisher failed: " + e.getMessage());
      }
    }, "publisher");
    t.start();
    return t;
  }

  void report(Clients.Seen seen, long connectMs, ServerProcess.Cpu serverCpu,
      long rssConnectedKib, Map<String, Object> extra) {
    Histogram h = seen.latency();
    long got = seen.received();
    long exp = expected.get();
    JsonObject json = new JsonObject();
    json.addProperty("transport", transport.name().toLowerCase(Locale.ROOT));
    json.addProperty("clients", clients);
    json.addProperty("merchants", merchants);
    json.addProperty("ops_fraction", ops);
    json.addProperty("rate", rate);
    json.addProperty("window_s", duration);
    json.addProperty("connect_all_ms", connectMs);
    json.addProperty("expected", exp);
    json.addProperty("received", got);
    json.addProperty("lost", Math.max(0, exp - got));
    json.addProperty("duplicates", seen.duplicates());
    json.addProperty("order_violations", seen.orderViolations());
    json.addProperty("deliveries_per_s", got / (double) duration);
    json.addProperty("p50_ms", h.getValueAtPercentile(50) / 1000.0);
    json.addProperty("p99_ms", h.getValueAtPercentile(99) / 1000.0);
    json.addProperty("p999_ms", h.getValueAtPercentile(99.9) / 1000.0);
    json.addProperty("max_ms", h.getMaxValue() / 1000.0);
    if (serverCpu != null) {
      json.addProperty("server_cpu_us_per_delivery", got == 0 ? -1 : serverCpu.total() * 1e6 / got);
      json.addProperty("server_sys_us_per_delivery",
          got == 0 ? -1 : serverCpu.system() * 1e6 / got);
      json.addProperty("server_rss_before_kib", rssBeforeKib);
      json.addProperty("server_rss_connected_kib", rssConnectedKib);
      json.addProperty("server_rss_kib_per_connection",
          (rssConnectedKib - rssBeforeKib) / (double) clients);
    }
    if (extra != null) {
      extra.forEach((k, v) -> json.addProperty(k, String.valueOf(v)));
    }
    json.addProperty("reconnects", seen.retries());
    json.addProperty("workers", processes());
    json.addProperty("closes", seen.closes().toString());
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
      try (Clients all = openClients()) {
        long connectMs = all.connect();
        Thread publisher = startPublisher();
        LockSupport.parkNanos(TimeUnit.SECONDS.toNanos(warmup));
        // The window opens a moment ahead, so every worker knows it before its first event.
        windowStartMicros = Tally.nowMicros() + TimeUnit.MILLISECONDS.toMicros(500);
        all.window(windowStartMicros, Long.MAX_VALUE);
        sleepUntil(windowStartMicros);
        Map<String, Long> before = commandStats();
        Clients.StormResult back = all.storm(jitterMs);
        Map<String, Long> after = commandStats();
        LockSupport.parkNanos(TimeUnit.SECONDS.toNanos(duration));
        // The publisher stops before the window closes, so every event it counted is in it.
        stopPublishing(publisher);
        windowEndMicros = Tally.nowMicros();
        all.window(windowStartMicros, windowEndMicros);
        LockSupport.parkNanos(TimeUnit.SECONDS.toNanos(3));
        long commands = 0;
        for (Map.Entry<String, Long> e : after.entrySet()) {
          commands += e.getValue() - before.getOrDefault(e.getKey(), 0L);
        }
        long publishes = after.getOrDefault("fcall", 0L) - before.getOrDefault("fcall", 0L);
        report(all.seen(), connectMs, null, 0, Map.of("all_resumed_ms", back.allBackMs(),
            "recovered", back.recovered(), "fresh_no_resume_point", back.noResumePoint(),
            "not_recovered_with_an_id", clients - back.recovered() - back.noResumePoint(),
            "redis_commands_during_storm", commands,
            "redis_publishes_during_storm", publishes,
            // each fanout_publish runs 9 commands inside its FCALL (fanout.lua); the INFO is ours
            "redis_commands_not_publishing", commands - 10 * publishes - 1));
      }
      return 0;
    }
  }

  /** Calls per command so far (INFO commandstats), functions' inner commands included. */
  Map<String, Long> commandStats() {
    Map<String, Long> calls = new TreeMap<>();
    try (JedisPooled jedis = new JedisPooled(redis)) {
      for (String line : jedis.info("commandstats").split("\r?\n")) {
        if (line.startsWith("cmdstat_")) {
          String name = line.substring(8, line.indexOf(':'));
          int at = line.indexOf("calls=") + 6;
          calls.put(name, Long.parseLong(line.substring(at, line.indexOf(',', at))));
        }
      }
    }
    return calls;
  }

  void stopPublishing(Thread publisher) throws InterruptedException {
    stop = true;
    publisher.join();
  }
}
