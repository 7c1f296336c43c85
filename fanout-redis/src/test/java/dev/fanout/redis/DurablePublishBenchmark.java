package dev.fanout.redis;

import dev.fanout.core.EventId;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * What waiting for a replica costs: one publisher on a primary with one replica (both
 * redis-server processes without persistence, on loopback), publishing one at a time and
 * pipelined, each without and with {@code minReplicas(1, 1 s)}, alternated three rounds because
 * this machine's load drifts; throughput and, one at a time, each publish's latency. Not a test:
 * it runs only when named (docs/benchmarks.md):
 *
 * <pre>
 * mvn -B -pl fanout-redis -am verify -DskipITs -Dsurefire.failIfNoSpecifiedTests=false \
 *     -Dtest=DurablePublishBenchmark [-Dbench.seconds=5]
 * </pre>
 */
class DurablePublishBenchmark {
  private static final String DATA = "{\"merchantId\":\"mch_1\",\"paymentId\":\"pay_123456\","
      + "\"method\":\"card\",\"status\":\"captured\",\"amount\":1999,\"currency\":\"EUR\"}";
  private static final Map<String, String> ATTRIBUTES = Map.of("method", "card", "status",
      "captured", "paymentId", "pay_123456");

  private final long seconds = Long.getLong("bench.seconds", 5);

  @Test
  void theCostOfWaitingForAReplica() throws Exception {
    RedisServer primary = RedisServer.inMemoryWith("--repl-diskless-sync-delay", "0");
    primary.start();
    RedisServer replica = RedisServer.inMemoryWith("--replicaof", "127.0.0.1",
        Integer.toString(primary.port()));
    replica.start();
    try {
      while (!SentinelRig.info(primary.port(), "replication").contains("connected_slaves:1")
          || !SentinelRig.info(replica.port(), "replication")
              .contains("master_link_status:up")) {
        TimeUnit.MILLISECONDS.sleep(50); // setup, before anything is measured
      }
      RedisStream stream = RedisStream.named("bench");
      try (RedisPublisher plain = RedisPublisher.create(primary.uri(), stream);
          RedisPublisher durable = RedisPublisher.builder(primary.uri(), stream)
              .minReplicas(1, Duration.ofSeconds(1)).build()) {
        for (RedisPublisher p : List.of(plain, durable)) { // warm-up
          phase(p, false, TimeUnit.SECONDS.toNanos(2), null);
          phase(p, true, TimeUnit.SECONDS.toNanos(2), null);
        }
        for (int round = 1; round <= 3; round++) {
          for (boolean pipelined : new boolean[] {false, true}) {
            for (RedisPublisher p : List.of(plain, durable)) {
              List<Long> latencies = new ArrayList<>();
              long start = System.nanoTime();
              long n = phase(p, pipelined, TimeUnit.SECONDS.toNanos(seconds),
                  pipelined ? null : latencies);
              double rate = n / ((System.nanoTime() - start) / 1e9);
              long[] sorted = latencies.stream().mapToLong(Long::longValue).sorted().toArray();
              System.out.printf("BENCH round %d %s %s: %.0f publishes/s%s%n", round,
                  pipelined ? "pipelined" : "one at a time",
                  p == plain ? "acknowledged by the primary" : "min-replicas 1", rate,
                  sorted.length == 0 ? "" : String.format(", latency p50 %.0f us p99 %.0f us "
                      + "p99.9 %.0f us", pct(sorted, 50), pct(sorted, 99), pct(sorted, 99.9)));
            }
          }
        }
      }
    } finally {
      replica.stop();
      primary.stop();
    }
  }

  private static double pct(long[] sorted, double p) {
    int i = (int) Math.min(sorted.length - 1, Math.ceil(p / 100 * sorted.length) - 1);
    return sorted[Math.max(0, i)] / 1e3;
  }

  /** Publishes for {@code nanos}; returns how many completed, recording each one's latency. */
  private static long phase(RedisPublisher p, boolean pipelined, long nanos, List<Long> latency) {
    long end = System.nanoTime() + nanos;
    long done = 0;
    int i = 0;
    if (!pipelined) {
      while (System.nanoTime() < end) {
        long t = System.nanoTime();
        p.publish("mch_" + (i++ % 1000), ATTRIBUTES, DATA);
        if (latency != null) {
          latency.add(System.nanoTime() - t);
        }
        done++;
      }
      return done;
    }
    List<CompletableFuture<EventId>> window = new ArrayList<>();
    while (System.nanoTime() < end) {
      window.add(p.publishAsync("mch_" + (i++ % 1000), ATTRIBUTES, DATA));
      if (window.size() == 1000) {
        window.forEach(CompletableFuture::join);
        done += window.size();
        window.clear();
      }
    }
    window.forEach(CompletableFuture::join);
    return done + window.size();
  }
}
