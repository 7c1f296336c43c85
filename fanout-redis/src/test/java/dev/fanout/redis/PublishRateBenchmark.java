package dev.fanout.redis;

import dev.fanout.core.EventId;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.Jedis;

/**
 * Publishes per second from one publisher, one at a time ({@code publish}) and pipelined
 * ({@code publishAsync}), on one redis-server (and, with {@code -Dbench.cluster=true}, on a
 * three-primary cluster with 16 partitions), with Redis's CPU per publish. Not a test: no
 * surefire or failsafe pattern matches its name, so it runs only when asked (docs/benchmarks.md):
 *
 * <pre>
 * taskset -c 0 mvn -B -pl fanout-redis -am verify -DskipITs \
 *     -Dsurefire.failIfNoSpecifiedTests=false -Dtest=PublishRateBenchmark -Dbench.redisCore=1 \
 *     [-Dbench.seconds=5] [-Dbench.cluster=true]
 * </pre>
 */
class PublishRateBenchmark {
  private static final int TOPICS = 1000;
  private static final String DATA = "{\"merchantId\":\"mch_1\",\"paymentId\":\"pay_123456\","
      + "\"method\":\"card\",\"status\":\"captured\",\"amount\":1999,\"currency\":\"EUR\"}";
  private static final Map<String, String> ATTRIBUTES = Map.of("method", "card", "status",
      "captured", "paymentId", "pay_123456");

  private final long seconds = Long.getLong("bench.seconds", 5);

  @Test
  void publishRates() throws Exception {
    RedisServer redis = RedisServer.inMemory();
    redis.start();
    String core = System.getProperty("bench.redisCore");
    if (core != null) { // docs/benchmarks.md: this JVM on one core, Redis on the other
      new ProcessBuilder("taskset", "-cp", core, Long.toString(redis.pid())).inheritIO().start()
          .waitFor();
    }
    try {
      compare("standalone", redis.uri(), RedisStream.named("bench"), List.of(redis.port()));
    } finally {
      redis.stop();
    }
    if (Boolean.getBoolean("bench.cluster")) {
      try (RedisCluster cluster = RedisCluster.start(3, 0)) {
        compare("cluster-3x16", cluster.uri(), RedisStream.named("bench").withPartitions(16),
            cluster.primaryPorts());
      }
    }
  }

  /** One at a time, then pipelined, three times over (the machine's load drifts): the ratios. */
  private void compare(String where, URI uri, RedisStream stream, List<Integer> ports)
      throws Exception {
    List<Double> ratios = new ArrayList<>();
    try (RedisPublisher publisher = RedisPublisher.create(uri, stream)) {
      phase(publisher, false, TimeUnit.SECONDS.toNanos(2)); // warm-up: JIT, function, pools
      phase(publisher, true, TimeUnit.SECONDS.toNanos(2));
      for (int round = 1; round <= 3; round++) {
        double single = run(where, publisher, ports, false);
        double pipelined = run(where, publisher, ports, true);
        ratios.add(pipelined / single);
      }
    }
    ratios.sort(null);
    System.out.printf("BENCH %s pipelined / one at a time: %.2f %.2f %.2f (median %.2f)%n",
        where, ratios.get(0), ratios.get(1), ratios.get(2), ratios.get(1));
  }

  private double run(String where, RedisPublisher publisher, List<Integer> ports,
      boolean pipelined) {
    Snapshot before = Snapshot.of(ports);
    long cpuBefore = processCpuNanos();
    long start = System.nanoTime();
    long published = phase(publisher, pipelined, TimeUnit.SECONDS.toNanos(seconds));
    double elapsed = (System.nanoTime() - start) / 1e9;
    long jvmCpu = processCpuNanos() - cpuBefore;
    Snapshot after = Snapshot.of(ports);
    long calls = after.fcalls - before.fcalls;
    double rate = published / elapsed;
    System.out.printf("BENCH %s %s: %.0f publishes/s (%d in %.1f s); Redis: %.1f publishes "
            + "per FCALL, FCALL %.1f usec per publish (commandstats), %.1f us of CPU per "
            + "publish (used_cpu_user+sys); this JVM: %.1f us of CPU per publish%n", where,
        pipelined ? "pipelined (publishAsync)" : "one at a time (publish)",
        rate, published, elapsed, published / (double) calls,
        (after.fcallUsec - before.fcallUsec) / (double) published,
        (after.cpuSeconds - before.cpuSeconds) * 1e6 / published,
        jvmCpu / 1e3 / published);
    return rate;
  }

  private static long processCpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory
        .getOperatingSystemMXBean()).getProcessCpuTime();
  }

  /** Publishes for {@code nanos}; returns how many publishes completed. */
  private static long phase(RedisPublisher publisher, boolean pipelined, long nanos) {
    long end = System.nanoTime() + nanos;
    AtomicLong done = new AtomicLong();
    int i = 0;
    if (!pipelined) {
      while (System.nanoTime() < end) {
        publisher.publish("mch_" + (i++ % TOPICS), ATTRIBUTES, DATA);
        done.incrementAndGet();
      }
      return done.get();
    }
    List<CompletableFuture<EventId>> last = new ArrayList<>();
    while (System.nanoTime() < end) {
      CompletableFuture<EventId> f = publisher.publishAsync("mch_" + (i++ % TOPICS),
          ATTRIBUTES, DATA);
      f.thenRun(done::incrementAndGet);
      if (last.size() == 1000) {
        last.clear();
      }
      last.add(f);
    }
    last.forEach(CompletableFuture::join);
    return done.get();
  }

  /** fcall's commandstats and the CPU Redis used, summed over the primaries. */
  private record Snapshot(long fcalls, long fcallUsec, double cpuSeconds) {
    static Snapshot of(List<Integer> ports) {
      long calls = 0;
      long usec = 0;
      double cpu = 0;
      for (int port : ports) {
        try (Jedis j = new Jedis("127.0.0.1", port)) {
          for (String line : j.info("commandstats").split("\r?\n")) {
            if (line.startsWith("cmdstat_fcall:")) {
              for (String kv : line.substring(line.indexOf(':') + 1).split(",")) {
                String[] pair = kv.split("=");
                if (pair[0].equals("calls")) {
                  calls += Long.parseLong(pair[1]);
                } else if (pair[0].equals("usec")) {
                  usec += Long.parseLong(pair[1]);
                }
              }
            }
          }
          for (String line : j.info("cpu").split("\r?\n")) {
            if (line.startsWith("used_cpu_sys:") || line.startsWith("used_cpu_user:")) {
              cpu += Double.parseDouble(line.substring(line.indexOf(':') + 1).trim());
            }
          }
        }
      }
      return new Snapshot(calls, usec, cpu);
    }
  }
}
