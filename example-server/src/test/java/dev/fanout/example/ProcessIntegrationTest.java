package dev.fanout.example;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fanout.client.ProtocolClient;
import dev.fanout.redis.RedisServer;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.StreamEntryID;

/** The packaged jar as a real process: --help, SIGTERM drain, and the publish subcommand. */
class ProcessIntegrationTest {
  @RegisterExtension final RedisServer redis = RedisServer.withAppendOnly();

  private static final Path JAR = Path.of("target", "example-server.jar");
  private final List<Process> processes = new ArrayList<>();

  @AfterEach
  void killAll() {
    processes.forEach(Process::destroyForcibly);
  }

  private Process run(Path log, String... args) throws IOException {
    assertThat(JAR).as("the shaded jar (built by mvn package)").exists();
    List<String> cmd = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar",
        JAR.toString()));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile())
        .start();
    processes.add(p);
    return p;
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  @Test
  void helpListsEveryFlag() throws Exception {
    Path log = Files.createTempFile("help", ".log");
    Process p = run(log, "--help");
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    String help = Files.readString(log);
    for (String flag : new String[] {"--port", "--redis", "--allowed-origins", "--jwt-secret",
        "--jwt-public-key", "--jwks-url", "--jwt-algorithms", "--jwt-issuer", "--jwt-audience",
        "--jwt-scope-claim", "--jwt-clock-skew",
        "--heartbeat-interval", "--heartbeat-timeout", "--queue-size", "--batch-linger-ms",
        "--backpressure",
        "--snapshot-size", "--snapshot-cache-mb", "--rate", "--generator", "--shutdown-spread",
        "publish", "token"}) {
      assertThat(help).contains(flag);
    }
    assertThat(help).doesNotContain("--auth-secret"); // refused with the migration, not offered
    assertThat(p.exitValue()).isZero();
  }

  @Test
  void aBadFlagValueFailsWithAClearMessage() throws Exception {
    assertRefused("drop-oldest, drop-newest, disconnect, conflate", "--backpressure", "yolo");
    assertRefused("--snapshot-cache-mb must be between 0 and 1048576, got -1",
        "--snapshot-cache-mb", "-1");
  }

  private void assertRefused(String message, String... args) throws Exception {
    Path log = Files.createTempFile("bad", ".log");
    Process p = run(log, args);
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).isNotZero();
    assertThat(Files.readString(log)).contains(message);
  }

  @Test
  void aBadRedisConfigurationStopsTheServerWithOneLineSayingWhich() throws Exception {
    int nothing = freePort();
    Map<String, String> cases = Map.of(
        "redis://127.0.0.1:" + nothing, "cannot connect to Redis at redis://127.0.0.1:" + nothing,
        "redis-sentinel://127.0.0.1:" + nothing + "#mymaster",
        "no sentinel named the primary 'mymaster'",
        "redis://user:secret@127.0.0.1:" + nothing, "redis://user:***@127.0.0.1",
        "rediss://127.0.0.1:" + nothing + "?bogus=1", "unknown option 'bogus'");
    for (Map.Entry<String, String> c : cases.entrySet()) {
      for (String[] args : List.of(new String[] {"--port", "0", "--redis", c.getKey()},
          new String[] {"publish", "--redis", c.getKey()})) {
        Path log = Files.createTempFile("redis", ".log");
        Process p = run(log, args);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        String out = Files.readString(log);
        assertThat(p.exitValue()).as(out).isEqualTo(2);
        assertThat(out).contains(c.getValue()).doesNotContain("secret").doesNotContain("\tat ");
      }
    }
  }

  @Test
  void aFloodOfBadTokensCostsAFewLogLinesNotAStackTraceEach() throws Exception {
    int port = freePort();
    Path log = Files.createTempFile("flood", ".log");
    run(log, "--host", "127.0.0.1", "--port", Integer.toString(port),
        "--jwt-secret", TestJwts.SECRET, "--warmup-connections", "0");
    URI ws = URI.create("ws://127.0.0.1:" + port + "/ws");
    Map<String, String> forged = TestJwts.bearer(
        TestJwts.mint("x", List.of(), Duration.ofMinutes(5)).replaceAll(".{4}$", "AAAA"));
    await().atMost(Duration.ofSeconds(30)).ignoreExceptions()
        .until(() -> ProtocolClient.answer(ws, forged).status() == 401);
    long before = Files.size(log);
    for (int i = 0; i < 300; i++) {
      assertThat(ProtocolClient.answer(ws, forged).status()).isEqualTo(401);
    }
    String written = Files.readString(log).substring((int) before);
    assertThat(written.lines().count()).as(written).isLessThanOrEqualTo(2);
    assertThat(written).doesNotContain("Exception").doesNotContain("\tat ");
  }

  @Test
  void theTokenSubcommandAndTheJwtFlagsRefuseWhatCannotWorkInOneLine() throws Exception {
    for (String[] args : List.of(
        new String[] {"token", "--jwt-secret", TestJwts.SECRET, "--merchants", ""},
        new String[] {"token", "--jwt-secret", TestJwts.SECRET, "--principal", " "},
        new String[] {"token", "--jwt-secret", TestJwts.SECRET, "--ttl", "0s"},
        new String[] {"token", "--jwt-secret", "short"},
        new String[] {"token", "--auth-secret", "0123456789abcdef0123"},
        new String[] {"--jwt-secret", TestJwts.SECRET, "--jwks-url", "https://x/jwks"})) {
      Path log = Files.createTempFile("token", ".log");
      Process p = run(log, args);
      assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
      String out = Files.readString(log);
      assertThat(p.exitValue()).as(out).isEqualTo(2);
      assertThat(out.lines().count()).as(out).isEqualTo(1);
      assertThat(out).startsWith("fanout: ");
    }
  }

  @Test
  void sigtermClosesEveryClientWithGoingAwayAndExits() throws Exception {
    int port = freePort();
    Path log = Files.createTempFile("server", ".log");
    Process server = run(log, "--host", "127.0.0.1", "--port", Integer.toString(port),
        "--shutdown-spread", "500ms");
    URI ws = URI.create("ws://127.0.0.1:" + port + "/ws");
    HttpClient http = HttpClient.newHttpClient();
    HttpRequest ready = HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + port + "/health/ready")).build();
    await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() ->
        http.send(ready, HttpResponse.BodyHandlers.discarding()).statusCode() == 200);
    List<ProtocolClient> clients = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      clients.add(ProtocolClient.connect(ws));
    }
    for (ProtocolClient c : clients) {
      c.send("{\"type\":\"subscribe\"}");
    }
    await().until(() -> clients.stream().allMatch(c -> c.eventIds().size() > 0));

    long t0 = System.nanoTime();
    server.destroy(); // SIGTERM
    for (ProtocolClient c : clients) {
      assertThat(c.closed().get(10, TimeUnit.SECONDS)).isEqualTo(1001);
    }
    assertThat(server.waitFor(15, TimeUnit.SECONDS)).as("exits within 15 s").isTrue();
    long took = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    System.out.printf("MEASURE sigterm_drain clients=10 exit_ms=%d%n", took);
    assertThat(Files.readString(log)).contains("closing 10 connections with 1001", "stopped");
  }

  @Test
  void thePublishSubcommandFeedsAServerThroughRedis() throws Exception {
    int port = freePort();
    Path serverLog = Files.createTempFile("server", ".log");
    run(serverLog, "--host", "127.0.0.1", "--port", Integer.toString(port), "--redis",
        redis.uri().toString(), "--namespace", "proc", "--warmup-connections", "0");
    URI ws = URI.create("ws://127.0.0.1:" + port + "/ws");
    List<ProtocolClient> holder = new ArrayList<>();
    await().atMost(Duration.ofSeconds(30)).ignoreExceptions()
        .until(() -> holder.add(ProtocolClient.connect(ws)));
    ProtocolClient c = holder.get(0);
    c.send("{\"type\":\"subscribe\"}");
    await().until(() -> c.sawFrame("subscribed"));

    Path pubLog = Files.createTempFile("publish", ".log");
    Process publisher = run(pubLog, "publish", "--redis", redis.uri().toString(), "--namespace",
        "proc", "--rate", "100", "--duration", "2s");
    assertThat(publisher.waitFor(30, TimeUnit.SECONDS)).isTrue();
    String out = Files.readString(pubLog, StandardCharsets.UTF_8);
    int published = Integer.parseInt(out.replaceAll("(?s).*published (\\d+) events.*", "$1"));
    assertThat(published).isGreaterThan(50);
    await().until(() -> c.eventIds().size() == published);
    c.close();
  }

  /**
   * {@code publish --print-ids} prints exactly the ids Redis acknowledged, which an operator can
   * check against the stream; with {@code --min-replicas 1} on a Redis without replicas nothing
   * is acknowledged, though Redis ran every publish, and the summary says so.
   */
  @Test
  void thePublishSubcommandPrintsTheIdsItWasAcknowledged() throws Exception {
    Path out = Files.createTempFile("ids", ".out");
    Path err = Files.createTempFile("ids", ".err");
    Process p = runSplit(out, err, "publish", "--redis", redis.uri().toString(), "--namespace",
        "ids", "--rate", "50", "--duration", "1s", "--print-ids");
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    List<String> ids = Files.readAllLines(out, StandardCharsets.UTF_8);
    assertThat(ids).hasSizeGreaterThan(20).allMatch(id -> id.matches("[A-Za-z0-9]+:\\d+"));
    assertThat(Files.readString(err)).contains("published " + ids.size() + " events");
    try (Jedis j = new Jedis(redis.uri())) {
      List<String> kept = j.xrange("{ids}:stream", StreamEntryID.MINIMUM_ID,
          StreamEntryID.MAXIMUM_ID).stream()
          .map(e -> e.getFields().get("e") + ":" + e.getID().getTime()).toList();
      assertThat(kept).isEqualTo(ids);
    }

    Process unconfirmed = runSplit(out, err, "publish", "--redis", redis.uri().toString(),
        "--namespace", "ids", "--rate", "50", "--duration", "1s", "--print-ids",
        "--min-replicas", "1", "--replica-timeout", "20ms");
    assertThat(unconfirmed.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(Files.readAllLines(out, StandardCharsets.UTF_8)).isEmpty();
    assertThat(Files.readString(err))
        .containsPattern("published 0 events, \\d+ not acknowledged")
        .contains("reached 0 of 1 replica within 20 ms");
  }

  private Process runSplit(Path out, Path err, String... args) throws IOException {
    List<String> cmd = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar",
        JAR.toString()));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile())
        .start();
    processes.add(p);
    return p;
  }
}
