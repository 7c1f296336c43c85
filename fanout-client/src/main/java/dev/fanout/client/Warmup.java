package dev.fanout.client;

import dev.fanout.core.internal.DaemonThreads;
import dev.fanout.core.internal.Require;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Warms a freshly started node before it reports ready: rounds of loopback WebSocket connections
 * that handshake, subscribe to a topic nobody publishes and close, so the JIT has compiled the
 * handshake and subscribe path before the first real burst (a deploy is exactly when a cold node
 * meets every dashboard at once; docs/benchmarks.md measures the difference), in
 * {@value #ROUNDS} rounds. Each connection is read on the warm-up's own thread, with this
 * module's upgrade and frame codec and no thread or recording of its own, so the warm-up spends
 * next to nothing of its own. Best effort: the first failure (a refused handshake or subscribe, a
 * timeout) ends it, once its round's connections in flight are done; it is logged, and the node
 * becomes ready anyway.
 *
 * <p>Run it once the endpoint is serving and before the node says it is ready (the example
 * server's {@code /health/ready}; the Spring Boot starter's readiness):
 *
 * <pre>{@code
 * Warmup.run(URI.create("ws://127.0.0.1:" + port + "/ws"),
 *     Map.of("Origin", "https://ops.example.com"), 2000);
 * }</pre>
 *
 * <p>The connections are real ones: they pass the node's Origin check, its authenticator (give
 * them what it needs: a header, or a token in the URI's query) and its caps, and count in its
 * metrics.
 */
public final class Warmup {
  private static final Logger log = LoggerFactory.getLogger(Warmup.class);
  /** Rounds of connections a warm-up makes. */
  public static final int ROUNDS = 5;
  /** Connections in flight at once: a burst's concurrency, without a burst's open files. */
  private static final int IN_FLIGHT = 16;
  private static final Duration TIMEOUT = Duration.ofSeconds(10);
  private static final Set<String> OWN_HEADERS = Set.of("host", "upgrade", "connection",
      "sec-websocket-key", "sec-websocket-version");
  private static final byte[] SUBSCRIBE =
      FrameCodec.text("{\"type\":\"subscribe\",\"topics\":[\"__warmup\"]}");

  private Warmup() {}

  /**
   * Runs the rounds of {@code connections} connections to {@code ws} (a {@code ws://} URI on
   * this node, its query carried as is), each sending {@code headers} (an {@code Origin} the node
   * allows, an {@code Authorization} its authenticator takes, or none), and blocks until they are
   * done; returns how many subscribes were answered.
   *
   * @throws IllegalArgumentException if {@code ws} is not a {@code ws://} URI with a host and a
   *     port, {@code connections} is not positive, or a header is one the upgrade itself sets or
   *     holds a line break
   */
  public static int run(URI ws, Map<String, String> headers, int connections) {
    Connection.requireWsUri(ws, "a warm-up");
    Require.argument(connections > 0, "connections per round must be positive, got %d",
        connections);
    headers.forEach((name, value) -> {
      Require.argument(!OWN_HEADERS.contains(name.toLowerCase(Locale.ROOT)),
          "the warm-up sets %s itself", name);
      Require.argument((name + value).indexOf('\r') < 0 && (name + value).indexOf('\n') < 0,
          "a line break in the warm-up's header %s", name);
    });
    long t0 = System.nanoTime();
    AtomicInteger answered = new AtomicInteger();
    AtomicReference<Exception> firstFailure = new AtomicReference<>();
    ExecutorService pool = Executors.newFixedThreadPool(IN_FLIGHT,
        DaemonThreads.named("fanout-warmup-client"));
    int rounds = 0;
    try {
      while (rounds < ROUNDS) {
        long roundStart = System.nanoTime();
        CountDownLatch round = new CountDownLatch(connections);
        for (int i = 0; i < connections; i++) {
          pool.execute(() -> {
            if (firstFailure.get() != null) { // the round has failed: the rest would too
              round.countDown();
              return;
            }
            try {
              subscribeOnce(ws, headers);
              answered.incrementAndGet();
            } catch (IOException | RuntimeException e) {
              firstFailure.compareAndSet(null, e);
            } finally {
              round.countDown();
            }
          });
        }
        if (!round.await(connections * TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
          break;
        }
        rounds++;
        log.debug("warm-up round {}: {} ms", rounds,
            TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - roundStart));
        if (firstFailure.get() != null) {
          break; // refused, draining, or not reachable on loopback: another round would be too
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      pool.shutdownNow();
    }
    long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    Exception failure = firstFailure.get();
    if (failure == null) {
      log.info("warmed up: {} loopback subscribes answered in {} rounds, {} ms", answered.get(),
          rounds, tookMs);
    } else {
      log.warn("warm-up: {} of {} loopback subscribes answered in {} ms; the first failure: {}",
          answered.get(), rounds * connections, tookMs, failure.toString());
    }
    return answered.get();
  }

  /** One connection: upgrade, subscribe, wait for {@code subscribed}, close 1000. */
  private static void subscribeOnce(URI ws, Map<String, String> headers) throws IOException {
    try (Connection c = Connection.open(ws, headers, TIMEOUT)) {
      if (!c.upgraded()) {
        throw new UpgradeRefusedException(ws, c.answer());
      }
      c.write(SUBSCRIBE);
      while (true) {
        Frame f = c.read();
        if (f == null || f.opcode() == FrameCodec.CLOSE) {
          throw new IOException("closed by the server before subscribed");
        }
        String text = f.opcode() == FrameCodec.TEXT ? f.text() : "";
        if (text.contains("\"subscribed\"")) {
          break;
        }
        if (text.contains("\"error\"")) { // the subscribe was refused (scope, limits)
          throw new IOException("subscribe refused: " + text);
        }
      }
      c.write(FrameCodec.close(1000, ""));
      for (Frame f = c.read(); f != null; f = c.read()) { // until the server's close, or EOF
        if (f.opcode() == FrameCodec.CLOSE) {
          return;
        }
      }
    }
  }
}
