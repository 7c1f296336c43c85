package dev.fanout.example;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fanout.client.ProtocolClient;
import dev.fanout.core.Scope;
import dev.fanout.jwt.Jwts;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * No token in a log line, a metric label or an error frame (issue 29). The packaged jar runs as a
 * process on each transport, fanout's loggers at debug and the whole log in a file, and meets
 * tokens every way a client can bring one: a Bearer header, the cookie, POST /session, the URL,
 * expired, forged, for another audience, two at once, one that expires on a live connection, and
 * the warm-up and SIGTERM around them. Then the log is searched for every token, and for the
 * claims and the signature part of each (the header part is the same for all HS256 tokens, and
 * no secret), and for the secret.
 */
class TokenLogProcessIntegrationTest {
  private static final Path JAR = Path.of("target", "example-server.jar");
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  private Process process;
  private final List<AutoCloseable> open = new ArrayList<>();

  @AfterEach
  void stop() throws Exception {
    for (AutoCloseable c : open) {
      c.close();
    }
    if (process != null) {
      process.destroyForcibly();
    }
  }

  @Test
  void onJettyARunWithTokensLogsNoneOfThem() throws Exception {
    runWithTokens("jetty");
  }

  @Test
  void onNettyARunWithTokensLogsNoneOfThem() throws Exception {
    runWithTokens("netty");
  }

  private void runWithTokens(String transport) throws Exception {
    assertThat(JAR).as("the shaded jar (built by mvn package)").exists();
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Path log = Files.createTempFile("tokens-" + transport, ".log");
    ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin",
        "java").toString(), "-Dorg.slf4j.simpleLogger.log.dev.fanout=debug", "-jar",
        JAR.toString(), "--host", "127.0.0.1", "--port", Integer.toString(port), "--transport",
        transport, "--rate", "50", "--jwt-audience", "feed", "--jwt-clock-skew", "0s",
        "--warmup-connections", "20", "--shutdown-spread", "200ms")
        .redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().put("FANOUT_JWT_SECRET", TestJwts.SECRET); // not on the command line
    process = pb.start();
    URI base = URI.create("http://127.0.0.1:" + port);
    URI ws = URI.create("ws://127.0.0.1:" + port + "/ws");
    await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() -> HTTP.send(
        HttpRequest.newBuilder(base.resolve("/health/ready")).build(),
        HttpResponse.BodyHandlers.discarding()).statusCode() == 200);

    Jwts.Minter feed = TestJwts.minter().audience("feed");
    Duration ttl = Duration.ofMinutes(5);
    Map<String, String> tokens = new LinkedHashMap<>();
    tokens.put("all", feed.mint("ops-all", Scope.all(), ttl));
    tokens.put("scoped", feed.mint("ops-1", Scope.of("mch_01"), ttl));
    tokens.put("short", feed.mint("ops-short", Scope.all(), Duration.ofSeconds(2)));
    tokens.put("expired", feed.clock(Clock.offset(Clock.systemUTC(), Duration.ofMinutes(-10)))
        .mint("ops-old", Scope.all(), Duration.ofMinutes(5)));
    tokens.put("other audience", TestJwts.minter().audience("billing")
        .mint("ops-x", Scope.all(), ttl));
    tokens.put("forged", tokens.get("all").replaceAll(".{6}$", "AAAAAA"));
    tokens.put("other secret", Jwts.hs256("another-secret-of-at-least-32-bytes!")
        .audience("feed").mint("ops-y", Scope.all(), ttl));

    // accepted: live events, and an error frame for a merchant outside the scope
    ProtocolClient all = connect(ws, bearer(tokens.get("all")));
    all.send("{\"type\":\"subscribe\"}");
    ProtocolClient scoped = connect(ws, cookie(tokens.get("scoped")));
    scoped.send("{\"type\":\"subscribe\",\"topics\":[\"mch_02\"]}");
    scoped.send("{\"type\":\"subscribe\"}");
    ProtocolClient expiring = connect(ws, bearer(tokens.get("short")));
    expiring.send("{\"type\":\"subscribe\"}");
    await().until(() -> all.eventIds().size() > 5 && scoped.eventIds().size() > 1
        && scoped.sawFrame("\"code\":\"forbidden\""));

    // the page's way: POST the token, then the cookie; and signing out
    for (String token : tokens.values()) {
      session(base, "POST", bearer(token));
    }
    session(base, "GET", cookie(tokens.get("scoped")));
    session(base, "DELETE", cookie(tokens.get("scoped")));

    // refused: every token in every place, and two at once
    for (String token : tokens.values()) {
      assertThat(ProtocolClient.answer(URI.create(ws + "?token=" + token), Map.of()).status())
          .isEqualTo(401);
      assertThat(ProtocolClient.answer(URI.create(ws + "?access_token=" + token),
          Map.of()).status()).isEqualTo(401);
      HTTP.send(HttpRequest.newBuilder(base.resolve("/ws/check")).header("Cookie",
          "fanout_token=" + token).build(), HttpResponse.BodyHandlers.discarding());
      Map<String, String> both = new HashMap<>(bearer(token));
      both.putAll(cookie(token));
      assertThat(ProtocolClient.answer(ws, both).status()).isEqualTo(401);
    }
    for (String bad : List.of("expired", "other audience", "forged", "other secret")) {
      assertThat(ProtocolClient.answer(ws, bearer(tokens.get(bad))).status()).as(bad)
          .isEqualTo(401);
    }
    assertThat(expiring.closed().get(10, TimeUnit.SECONDS)).isEqualTo(4003);
    // the node reports refusals at most every 10 s, at a refusal: refuse until it has reported
    // those above, reasons and counts
    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(500)).until(() -> {
      ProtocolClient.answer(ws, bearer(tokens.get("forged")));
      return Files.readString(log).contains("401 token expired=");
    });

    String metrics = HTTP.send(HttpRequest.newBuilder(base.resolve("/metrics")).build(),
        HttpResponse.BodyHandlers.ofString()).body();
    assertThat(metrics).contains("fanout_handshakes_refused_total{reason=\"token expired\"");
    List<String> frames = new ArrayList<>(all.texts());
    frames.addAll(scoped.texts());
    frames.addAll(expiring.texts());

    process.destroy(); // SIGTERM: the drain's lines too
    assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
    String written = Files.readString(log);
    System.out.printf("MEASURE token_log transport=%s log_lines=%d tokens=%d%n", transport,
        written.lines().count(), tokens.size());
    assertThat(written).contains("authentication is ON", "401 invalid token=",
        "401 ambiguous token=", "401 wrong audience=", "stopped"); // it did log
    for (Map.Entry<String, String> t : tokens.entrySet()) {
      for (String secret : secretParts(t.getValue())) {
        assertThat(written).as("the log, " + t.getKey()).doesNotContain(secret);
        assertThat(metrics).as("/metrics, " + t.getKey()).doesNotContain(secret);
        assertThat(frames).as("frames, " + t.getKey()).noneMatch(f -> f.contains(secret));
      }
    }
    assertThat(written).doesNotContain(TestJwts.SECRET);
  }

  /** The token, its claims part and its signature part. */
  private static List<String> secretParts(String token) {
    String[] parts = token.split("\\.");
    return List.of(token, parts[1], parts[2]);
  }

  private ProtocolClient connect(URI ws, Map<String, String> headers) throws Exception {
    ProtocolClient c = ProtocolClient.connect(ws, headers);
    open.add(c);
    return c;
  }

  private static void session(URI base, String method, Map<String, String> headers)
      throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve("/session"))
        .method(method, HttpRequest.BodyPublishers.noBody());
    headers.forEach(b::header);
    HTTP.send(b.build(), HttpResponse.BodyHandlers.discarding());
  }

  private static Map<String, String> bearer(String token) {
    return TestJwts.bearer(token);
  }

  private static Map<String, String> cookie(String token) {
    return Map.of("Cookie", "fanout_token=" + token);
  }
}
