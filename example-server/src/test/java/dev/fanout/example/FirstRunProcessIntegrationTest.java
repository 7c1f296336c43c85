package dev.fanout.example;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The jar's first run, as a newcomer starts it (issue 28): under an open-file limit of 20,000
 * (set by the shell, so the JVM cannot raise it), with no flag but the port, it binds the
 * loopback only, warms nothing up, warns about nothing, and is ready in seconds. What a flag
 * forces is checked too: another address, a cap the limit cannot hold, a warm-up in embedded
 * mode. (Redis mode's defaults: {@link ExampleServerDefaultsTest}.)
 */
class FirstRunProcessIntegrationTest {
  private static final Path JAR = Path.of("target", "example-server.jar");
  private static final int FILE_LIMIT = 20_000;

  private final List<Process> processes = new ArrayList<>();

  @AfterEach
  void killAll() {
    processes.forEach(Process::destroyForcibly);
  }

  /** The jar under {@code ulimit -n 20000} (soft and hard), its output in {@code log}. */
  private Process run(Path log, String... args) throws IOException {
    assertThat(JAR).as("the shaded jar (built by mvn package)").exists();
    StringBuilder cmd = new StringBuilder("ulimit -n " + FILE_LIMIT + " && exec '"
        + Path.of(System.getProperty("java.home"), "bin", "java") + "' -jar " + JAR);
    for (String a : args) {
      cmd.append(' ').append(a);
    }
    Process p = new ProcessBuilder("sh", "-c", cmd.toString()).redirectErrorStream(true)
        .redirectOutput(log.toFile()).start();
    processes.add(p);
    return p;
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /** Waits for /health/ready on the loopback; returns how long after the start that was. */
  private static long readyMillis(int port, long startedNanos) {
    HttpClient http = HttpClient.newHttpClient();
    HttpRequest ready = HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + port + "/health/ready")).build();
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50))
        .ignoreExceptions().until(() ->
            http.send(ready, HttpResponse.BodyHandlers.discarding()).statusCode() == 200);
    return (System.nanoTime() - startedNanos) / 1_000_000;
  }

  /** Whether a TCP connect to {@code host:port} is accepted (127.0.0.2 is loopback too). */
  private static void connect(String host, int port) throws IOException {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(host, port), 2000);
    }
  }

  private static String openFileLimit(Process p) throws IOException {
    // sh exec'd java: the pid is the JVM's
    return Files.readAllLines(Path.of("/proc", Long.toString(p.pid()), "limits")).stream()
        .filter(l -> l.startsWith("Max open files")).findFirst().orElseThrow();
  }

  @Test
  void theEmbeddedDemoBindsTheLoopbackWarnsOfNothingAndIsReadyInSeconds() throws Exception {
    int port = freePort();
    Path log = Files.createTempFile("first-run", ".log");
    long t0 = System.nanoTime();
    Process p = run(log, "--port", Integer.toString(port));
    long readyMs = readyMillis(port, t0);
    assertThat(openFileLimit(p)).as("the limit the process runs under")
        .containsPattern("\\s" + FILE_LIMIT + "\\s+" + FILE_LIMIT + "\\s");
    String out = Files.readString(log);
    System.out.printf("MEASURE first_run ready_ms=%d%n", readyMs);
    assertThat(out).contains("fanout example server on http://127.0.0.1:" + port + "/ (embedded")
        .doesNotContain("open-file limit").doesNotContain("warm").doesNotContain("WARN ");
    // on a loaded CI machine a cold JVM takes a few seconds; the old warm-up took 15 to 25
    assertThat(readyMs).isLessThan(10_000);
    assertThatThrownBy(() -> connect("127.0.0.2", port)).isInstanceOf(ConnectException.class);
    connect("127.0.0.1", port);
  }

  @Test
  void flagsForceAnotherAddressAWarmUpAndTheWarningOfACapTheLimitCannotHold() throws Exception {
    int port = freePort();
    Path log = Files.createTempFile("first-run-flags", ".log");
    int cap = FILE_LIMIT - FeedServer.FILES_OF_ITS_OWN + 1; // one file short
    long t0 = System.nanoTime();
    run(log, "--host", "0.0.0.0", "--port", Integer.toString(port), "--max-connections",
        Integer.toString(cap), "--warmup-connections", "100");
    readyMillis(port, t0);
    String out = Files.readString(log);
    assertThat(out).contains("the open-file limit is " + FILE_LIMIT + ", below the "
        + (FILE_LIMIT + 1) + " files --max-connections " + cap + " needs")
        .contains("warmed up: 500 loopback subscribes answered")
        .contains("fanout example server on http://0.0.0.0:" + port + "/");
    connect("127.0.0.2", port); // every interface: another loopback address too
  }
}
