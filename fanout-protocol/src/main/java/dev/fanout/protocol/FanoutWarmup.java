package dev.fanout.protocol;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
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
 * {@value #ROUNDS} rounds. The client is a few lines over plain sockets, so the warm-up compiles
 * and spends next to nothing of its own. Best effort: the first failure (a refused handshake or
 * subscribe, a timeout) ends it, once its round's connections in flight are done; it is logged,
 * and the node becomes ready anyway.
 *
 * <p>Run it once the endpoint is serving and before the node says it is ready (the example
 * server's {@code /health/ready}; the Spring Boot starter's readiness):
 *
 * <pre>{@code
 * FanoutWarmup.run(URI.create("ws://127.0.0.1:" + port + "/ws"),
 *     Map.of("Origin", "https://ops.example.com"), 2000);
 * }</pre>
 *
 * <p>The connections are real ones: they pass the node's Origin check, its {@link Authenticator}
 * (give them what it needs: a header, or a token in the URI's query) and its caps, and count in
 * its metrics.
 */
public final class FanoutWarmup {
  private static final Logger log = LoggerFactory.getLogger(FanoutWarmup.class);
  /** Rounds of connections a warm-up makes. */
  public static final int ROUNDS = 5;
  /** Connections in flight at once: a burst's concurrency, without a burst's open files. */
  private static final int IN_FLIGHT = 16;
  private static final int TIMEOUT_MS = 10_000;
  private static final Set<String> OWN_HEADERS = Set.of("host", "upgrade", "connection",
      "sec-websocket-key", "sec-websocket-version");
  private static final byte[] SUBSCRIBE =
      "{\"type\":\"subscribe\",\"topics\":[\"__warmup\"]}".getBytes(StandardCharsets.UTF_8);

  private FanoutWarmup() {}

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
    if (!"ws".equals(ws.getScheme()) || ws.getHost() == null || ws.getPort() <= 0) {
      throw new IllegalArgumentException(
          "a warm-up needs a ws:// URI with a host and a port, got " + ws);
    }
    if (connections <= 0) {
      throw new IllegalArgumentException(
          "connections per round must be positive, got " + connections);
    }
    long t0 = System.nanoTime();
    byte[] request = request(ws, headers);
    AtomicInteger answered = new AtomicInteger();
    AtomicReference<Exception> firstFailure = new AtomicReference<>();
    ExecutorService pool = Executors.newFixedThreadPool(IN_FLIGHT, r -> {
      Thread t = new Thread(r, "fanout-warmup-client");
      t.setDaemon(true);
      return t;
    });
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
              subscribeOnce(ws.getHost(), ws.getPort(), request);
              answered.incrementAndGet();
            } catch (IOException | RuntimeException e) {
              firstFailure.compareAndSet(null, e);
            } finally {
              round.countDown();
            }
          });
        }
        if (!round.await(connections * (long) TIMEOUT_MS, TimeUnit.MILLISECONDS)) {
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

  /** The upgrade request, the same for every connection (the server only checks the key's form). */
  private static byte[] request(URI ws, Map<String, String> headers) {
    String target = ws.getRawPath() + (ws.getRawQuery() == null ? "" : "?" + ws.getRawQuery());
    StringBuilder r = new StringBuilder("GET ").append(target).append(" HTTP/1.1\r\n")
        .append("Host: ").append(ws.getHost()).append(':').append(ws.getPort()).append("\r\n")
        .append("Upgrade: websocket\r\n")
        .append("Connection: Upgrade\r\n")
        .append("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n")
        .append("Sec-WebSocket-Version: 13\r\n");
    headers.forEach((name, value) -> {
      if (OWN_HEADERS.contains(name.toLowerCase(Locale.ROOT))) {
        throw new IllegalArgumentException("the warm-up sets " + name + " itself");
      }
      if ((name + value).indexOf('\r') >= 0 || (name + value).indexOf('\n') >= 0) {
        throw new IllegalArgumentException("a line break in the warm-up's header " + name);
      }
      r.append(name).append(": ").append(value).append("\r\n");
    });
    return r.append("\r\n").toString().getBytes(StandardCharsets.UTF_8);
  }

  /** One connection: upgrade, subscribe, wait for {@code subscribed}, close 1000. */
  private static void subscribeOnce(String host, int port, byte[] request) throws IOException {
    try (Socket socket = new Socket()) {
      socket.setTcpNoDelay(true);
      socket.setSoTimeout(TIMEOUT_MS);
      socket.connect(new InetSocketAddress(host, port), TIMEOUT_MS);
      OutputStream out = socket.getOutputStream();
      InputStream in = new BufferedInputStream(socket.getInputStream());
      out.write(request);
      String status = readHead(in);
      if (!status.startsWith("HTTP/1.1 101")) {
        throw new IOException("upgrade refused: " + status);
      }
      out.write(frame(0x1, SUBSCRIBE));
      while (true) {
        int opcode = in.read() & 0x0f;
        byte[] payload = readPayload(in);
        if (opcode == 0x8) {
          throw new IOException("closed by the server before subscribed");
        }
        String text = opcode == 0x1 ? new String(payload, StandardCharsets.UTF_8) : "";
        if (text.contains("\"subscribed\"")) {
          break;
        }
        if (text.contains("\"error\"")) { // the subscribe was refused (scope, limits)
          throw new IOException("subscribe refused: " + text);
        }
      }
      out.write(frame(0x8, new byte[] {0x03, (byte) 0xe8})); // 1000
      while (true) { // until the server's close frame, or the end of the stream
        int first = in.read();
        if (first < 0 || (first & 0x0f) == 0x8) {
          return;
        }
        readPayload(in);
      }
    }
  }

  /** The response's status line; the rest of the head is read and dropped. */
  private static String readHead(InputStream in) throws IOException {
    StringBuilder head = new StringBuilder();
    while (head.length() < 4 || !head.substring(head.length() - 4).equals("\r\n\r\n")) {
      int b = in.read();
      if (b < 0 || head.length() > 16 * 1024) {
        throw new IOException("no upgrade response");
      }
      head.append((char) b);
    }
    return head.substring(0, head.indexOf("\r\n"));
  }

  /** A server frame's payload, after its first byte (servers do not mask). */
  private static byte[] readPayload(InputStream in) throws IOException {
    int len = in.read() & 0x7f;
    if (len == 126) {
      len = (in.read() << 8) | in.read();
    } else if (len == 127) {
      long n = 0;
      for (int i = 0; i < 8; i++) {
        n = (n << 8) | in.read();
      }
      if (n > Integer.MAX_VALUE) {
        throw new IOException("frame too large for a warm-up");
      }
      len = (int) n;
    }
    byte[] payload = in.readNBytes(len);
    if (payload.length < len) {
      throw new IOException("the stream ended inside a frame");
    }
    return payload;
  }

  /** A final client frame, masked as RFC 6455 requires; payloads here are under 126 bytes. */
  private static byte[] frame(int opcode, byte[] payload) {
    byte[] f = new byte[6 + payload.length];
    f[0] = (byte) (0x80 | opcode);
    f[1] = (byte) (0x80 | payload.length);
    int mask = ThreadLocalRandom.current().nextInt();
    for (int i = 0; i < 4; i++) {
      f[2 + i] = (byte) (mask >>> (24 - 8 * i));
    }
    for (int i = 0; i < payload.length; i++) {
      f[6 + i] = (byte) (payload[i] ^ f[2 + (i & 3)]);
    }
    return f;
  }
}
