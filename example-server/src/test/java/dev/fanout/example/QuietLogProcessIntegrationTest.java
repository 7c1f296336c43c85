package dev.fanout.example;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fanout.protocol.RawHttp;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The packaged jar as a process, its log in a file: a flood of bad requests, each answered with
 * its 4xx, adds at most a line or two to the log on either transport (issue 32: 4 threads of
 * {@code GET //x} for 5 s added 49.6 MB of stack traces on Netty; Jetty logged a WARN per request
 * with two Host headers).
 */
class QuietLogProcessIntegrationTest {
  private static final Path JAR = Path.of("target", "example-server.jar");
  private static final int ROUNDS = 60; // per thread and kind of request

  private Process process;

  @AfterEach
  void kill() {
    if (process != null) {
      process.destroyForcibly();
    }
  }

  @Test
  void onJettyAFloodOfBadRequestsAddsAtMostALineToTheLog() throws Exception {
    floodAndCountLogLines("jetty");
  }

  @Test
  void onNettyAFloodOfBadRequestsAddsAtMostALineToTheLog() throws Exception {
    floodAndCountLogLines("netty");
  }

  private void floodAndCountLogLines(String transport) throws Exception {
    assertThat(JAR).as("the shaded jar (built by mvn package)").exists();
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Path log = Files.createTempFile("quiet-" + transport, ".log");
    process = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java")
        .toString(), "-jar", JAR.toString(), "--host", "127.0.0.1", "--port",
        Integer.toString(port), "--transport", transport, "--generator", "off",
        "--warmup-connections", "0").redirectErrorStream(true).redirectOutput(log.toFile())
        .start();
    await().atMost(Duration.ofSeconds(30))
        .until(() -> Files.readString(log).contains("fanout example server on"));
    URI base = URI.create("http://127.0.0.1:" + port);
    String host = "Host: 127.0.0.1:" + port + "\r\n";
    String upgrade = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n";
    Map<String, Integer> requests = new LinkedHashMap<>();
    requests.put("GET //x HTTP/1.1\r\n" + host + "\r\n", 400);
    requests.put("GET //ws HTTP/1.1\r\n" + host + upgrade
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", 400);
    requests.put("GET /health HTTP/1.1\r\n" + host + "Host: other\r\n\r\n", 400);
    requests.put("GET /health HTTP/1.1\r\nHost: a b\r\n\r\n", 400);
    requests.put("GET /" + "a".repeat(7000) + " HTTP/1.1\r\n" + host + "\r\n", 404);
    requests.put("GET /health/../metrics HTTP/1.1\r\n" + host + "\r\n", 400);
    requests.put("GET /health HTTP/1.1\r\n" + host + "X-A: a\r\n b\r\n\r\n", 400);
    requests.put("GET /health HTTP/1.1\r\n" + host + "X-A: " + "j".repeat(9000) + "\r\n\r\n",
        431);
    requests.put("GET /ws HTTP/1.1\r\n" + host + upgrade + "Sec-WebSocket-Key: abc\r\n\r\n", 400);
    long before = Files.size(log);
    ExecutorService threads = Executors.newFixedThreadPool(4);
    List<Future<?>> done = new ArrayList<>();
    for (int t = 0; t < 4; t++) {
      done.add(threads.submit(() -> {
        for (int i = 0; i < ROUNDS; i++) {
          for (Map.Entry<String, Integer> r : requests.entrySet()) {
            assertThat(RawHttp.send(base, r.getKey()).status()).as(r.getKey().substring(0, 20))
                .isEqualTo(r.getValue());
          }
        }
        return null;
      }));
    }
    for (Future<?> f : done) {
      f.get(120, TimeUnit.SECONDS);
    }
    threads.shutdown();
    String written = Files.readString(log).substring((int) before);
    System.out.printf("MEASURE quiet_log transport=%s requests=%d log_bytes=%d%n", transport,
        4 * ROUNDS * requests.size(), written.length());
    assertThat(written.lines().count()).as(written).isLessThanOrEqualTo(2);
    assertThat(written).doesNotContain("\tat ").doesNotContain("Exception");
  }
}
