package dev.fanout.redis;

import static org.awaitility.Awaitility.await;

import dev.fanout.core.BusListener;
import dev.fanout.core.Event;
import dev.fanout.core.EventId;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.Jedis;

/**
 * A node's CPU per event it receives: the CPU time of the bus's own threads (every thread named
 * {@code fanout-redis-*}: the subscriber or the per-primary connections, the watchdog, the probes,
 * the map) over the events delivered to a listener that only counts them, on one redis-server
 * (one partition: {@code SUBSCRIBE}, and 16 partitions: {@code SSUBSCRIBE}) and on a cluster of
 * three primaries (16 partitions, one connection per primary). A publisher in the same JVM
 * pipelines 1,000 topics; its threads are not counted. With Redis's own {@code usec_per_call} of
 * {@code publish}/{@code spublish} (called by the function, one subscriber each). Not a test: it
 * runs only when named (docs/benchmarks.md):
 *
 * <pre>
 * mvn -B -pl fanout-redis -am verify -DskipITs -Dsurefire.failIfNoSpecifiedTests=false \
 *     -Dtest=NodeReceiveBenchmark [-Dbench.events=100000]
 * </pre>
 */
class NodeReceiveBenchmark {
  private static final String DATA = "{\"merchantId\":\"mch_1\",\"paymentId\":\"pay_123456\","
      + "\"method\":\"card\",\"status\":\"captured\",\"amount\":1999,\"currency\":\"EUR\"}";
  private static final Map<String, String> ATTRIBUTES = Map.of("method", "card", "status",
      "captured", "paymentId", "pay_123456");

  private final int events = Integer.getInteger("bench.events", 100_000);

  @Test
  void nodeCpuPerEventReceived() throws Exception {
    RedisServer redis = RedisServer.inMemory();
    redis.start();
    try {
      measure("one Redis, 1 partition (SUBSCRIBE)", redis.uri(), RedisStream.named("bench1"),
          List.of(redis.port()));
      measure("one Redis, 16 partitions (SSUBSCRIBE)", redis.uri(),
          RedisStream.named("bench16").withPartitions(16), List.of(redis.port()));
    } finally {
      redis.stop();
    }
    try (RedisCluster cluster = RedisCluster.start(3, 0)) {
      measure("cluster of 3 primaries, 16 partitions", cluster.uri(),
          RedisStream.named("bench16").withPartitions(16), cluster.primaryPorts());
    }
  }

  private void measure(String where, URI uri, RedisStream stream, List<Integer> ports)
      throws Exception {
    AtomicLong received = new AtomicLong();
    try (RedisBus bus = RedisBus.builder(uri, stream).build();
        RedisPublisher publisher = RedisPublisher.create(uri, stream)) {
      bus.subscribe(new BusListener() {
        @Override
        public void onEvent(Event event) {
          received.incrementAndGet();
        }

        @Override
        public void onDiscontinuity(String reason) {
          throw new AssertionError("a discontinuity: " + reason);
        }
      });
      Set<Integer> all = IntStream.range(0, stream.partitions()).boxed()
          .collect(Collectors.toSet());
      bus.need(all).get(20, TimeUnit.SECONDS);
      await().atMost(Duration.ofSeconds(10)).until(() -> bus.status().link().isUp());
      publish(publisher, events / 5, received); // warm-up: JIT, pools, the function
      List<Double> perEvent = new ArrayList<>();
      for (int round = 0; round < 3; round++) {
        Map<String, long[]> before = commandStats(ports);
        long cpu = busCpuNanos();
        long start = System.nanoTime();
        publish(publisher, events, received);
        double seconds = (System.nanoTime() - start) / 1e9;
        double micros = (busCpuNanos() - cpu) / 1e3 / events;
        perEvent.add(micros);
        Map<String, long[]> after = commandStats(ports);
        System.out.printf("BENCH %s: %.2f us of node CPU per event received (%d events in "
                + "%.1f s, %.0f/s); Redis %s%n", where, micros, events, seconds,
            events / seconds, usecPerCall(before, after));
      }
      perEvent.sort(null);
      System.out.printf("BENCH %s: median %.2f us of node CPU per event%n", where,
          perEvent.get(1));
    }
  }

  /** Publishes {@code n} events pipelined and waits until the node received them all. */
  private static void publish(RedisPublisher publisher, int n, AtomicLong received) {
    long target = received.get() + n;
    List<CompletableFuture<EventId>> last = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      last.add(publisher.publishAsync("mch_" + (i % 1000), ATTRIBUTES, DATA));
      if (last.size() == 5000) {
        last.forEach(CompletableFuture::join);
        last.clear();
      }
    }
    last.forEach(CompletableFuture::join);
    await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(5))
        .until(() -> received.get() >= target);
  }

  private static long busCpuNanos() {
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    long total = 0;
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      if (t.getName().startsWith("fanout-redis-")) {
        long cpu = threads.getThreadCpuTime(t.getId());
        total += Math.max(0, cpu);
      }
    }
    return total;
  }

  /** calls and usec of publish and spublish, summed over the servers. */
  private static Map<String, long[]> commandStats(List<Integer> ports) {
    Map<String, long[]> out = new HashMap<>();
    for (int port : ports) {
      try (Jedis j = new Jedis("127.0.0.1", port)) {
        for (String line : j.info("commandstats").split("\r?\n")) {
          for (String command : List.of("publish", "spublish", "ssubscribe", "subscribe")) {
            if (line.startsWith("cmdstat_" + command + ":")) {
              long[] sum = out.computeIfAbsent(command, c -> new long[2]);
              for (String kv : line.substring(line.indexOf(':') + 1).split(",")) {
                String[] pair = kv.split("=");
                if (pair[0].equals("calls")) {
                  sum[0] += Long.parseLong(pair[1]);
                } else if (pair[0].equals("usec")) {
                  sum[1] += Long.parseLong(pair[1]);
                }
              }
            }
          }
        }
      }
    }
    return out;
  }

  private static String usecPerCall(Map<String, long[]> before, Map<String, long[]> after) {
    StringBuilder s = new StringBuilder();
    after.forEach((command, a) -> {
      long[] b = before.getOrDefault(command, new long[2]);
      long calls = a[0] - b[0];
      if (calls > 0) {
        s.append(String.format("%s %.2f usec_per_call (%d calls) ", command,
            (a[1] - b[1]) / (double) calls, calls));
      }
    });
    return s.toString().trim();
  }
}
