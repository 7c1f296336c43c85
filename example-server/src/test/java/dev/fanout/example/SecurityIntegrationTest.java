package dev.fanout.example;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fanout.client.ProtocolClient;
import dev.fanout.core.EventId;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Hostile input against the example server, with an honest client watching throughout: each
 * attack is refused or closed with the documented code, and the honest client keeps receiving
 * every event. (Missing, expired and forged tokens: JwtIntegrationTest.)
 */
class SecurityIntegrationTest {
  private final List<AutoCloseable> open = new ArrayList<>();
  private FeedServer server;
  private ProtocolClient honest;

  @AfterEach
  void closeAll() throws Exception {
    for (int i = open.size() - 1; i >= 0; i--) {
      open.get(i).close();
    }
  }

  private void start(Consumer<FeedServer.Config> settings) throws Exception {
    FeedServer.Config c = new FeedServer.Config();
    c.host = "127.0.0.1";
    c.port = 0;
    c.rate = 100;
    c.jwt = TestJwts.authenticator();
    c.heartbeatInterval = Duration.ofMillis(500);
    c.heartbeatTimeout = Duration.ofMillis(1500);
    c.shutdownSpread = Duration.ofMillis(50);
    c.allowedOrigins = List.of("https://ops.example.com");
    settings.accept(c);
    server = FeedServer.start(c);
    open.add(server);
    honest = ProtocolClient.connect(ws(""), withToken("Origin", "https://ops.example.com"));
    // a browser on the allowed page
    open.add(honest);
    honest.send("{\"type\":\"subscribe\"}");
    await().until(() -> honest.eventIds().size() > 5);
  }

  private static String token(List<String> merchants) {
    return TestJwts.mint("t", merchants, Duration.ofMinutes(5));
  }

  /** {@code headers} (name, value, ...) and a valid token for every merchant. */
  private static Map<String, String> withToken(String... headers) {
    Map<String, String> all = new HashMap<>(TestJwts.bearer(token(List.of())));
    for (int i = 0; i < headers.length; i += 2) {
      all.put(headers[i], headers[i + 1]);
    }
    return all;
  }

  private URI ws(String query) {
    return URI.create("ws://127.0.0.1:" + server.port() + "/ws" + query);
  }

  /** A client with {@code token}. */
  private ProtocolClient probe(String token) throws Exception {
    ProtocolClient p = ProtocolClient.connect(ws(""), TestJwts.bearer(token));
    open.add(p);
    return p;
  }

  /** The honest client got every event since it joined: contiguous ids, one epoch. */
  private void assertHonestClientUnharmed() {
    int before = honest.eventIds().size();
    await().until(() -> honest.eventIds().size() > before + 20);
    List<String> ids = honest.eventIds();
    EventId first = EventId.parse(ids.get(0));
    for (int i = 1; i < ids.size(); i++) {
      assertThat(EventId.parse(ids.get(i))).isEqualTo(EventId.of(first.epoch(), first.seq() + i));
    }
    assertThat(honest.closed()).isNotDone();
  }

  @Test
  void hostileOriginsAreRefusedBeforeTheUpgrade() throws Exception {
    start(c -> {});
    for (String origin : new String[] {"https://evil.example", "null",
        "https://ops.example.com.evil.example", "https://evil.example/ops.example.com",
        "http://ops.example.com", "https://ops.example.com:8443"}) {
      assertThat(ProtocolClient.status(ws(""), withToken("Origin", origin))).as(origin)
          .isEqualTo(403);
    }
    assertThat(ProtocolClient.status(ws(""), withToken("Origin", "https://ops.example.com")))
        .isEqualTo(101);
    assertThat(ProtocolClient.status(ws(""), withToken())).as("no Origin, by default")
        .isEqualTo(101);
    assertHonestClientUnharmed();
  }

  @Test
  void aMissingOriginIsRefusedWhenConfigured() throws Exception {
    FeedServer.Config probe = new FeedServer.Config();
    assertThat(probe.allowMissingOrigin).isTrue();
    start(c -> c.allowMissingOrigin = false);
    assertThat(ProtocolClient.status(ws(""), withToken())).isEqualTo(403);
  }

  @Test
  void aClientNeverSeesMerchantsOutsideItsScope() throws Exception {
    start(c -> {});
    await().until(() -> honest.dataValues("merchantId").contains("mch_02")
        && honest.eventIds().size() > 60);
    String early = honest.eventIds().get(0);
    ProtocolClient narrow = probe(token(List.of("mch_01")));
    narrow.send("{\"type\":\"subscribe\",\"merchants\":[\"mch_02\"]}");
    await().until(() -> narrow.sawFrame("\"code\":\"forbidden\""));
    narrow.send("{\"type\":\"subscribe\"}"); // snapshot path
    narrow.send("{\"type\":\"subscribe\",\"lastEventId\":\"" + early + "\"}"); // resume path
    await().until(() -> narrow.texts().stream().filter(f -> f.contains("subscribed")).count() == 2);
    int after = narrow.eventIds().size();
    await().until(() -> narrow.eventIds().size() > after + 3); // live path
    assertThat(narrow.dataValues("merchantId")).isNotEmpty().containsOnly("mch_01");
    assertHonestClientUnharmed();
  }

  @Test
  void oversizedMalformedAndFloodingClientsAreClosedWithTheirCodes() throws Exception {
    start(c -> {});
    String t = token(List.of());
    ProtocolClient big = probe(t);
    big.send("{\"type\":\"subscribe\",\"merchants\":[\"" + "x".repeat(10_000) + "\"]}");
    assertThat(big.closed().get(10, TimeUnit.SECONDS)).isEqualTo(1009);

    ProtocolClient garbage = probe(t);
    garbage.send("{\"type\":\"subscribe\",\"merchants\":[[[[[[[[1]]]]]]]]}");
    garbage.send("\u0000\u0001 not json");
    await().until(() ->
        garbage.texts().stream().filter(f -> f.contains("bad_request")).count() == 2);

    ProtocolClient flood = probe(t);
    for (int i = 0; i < 200 && !flood.closed().isDone(); i++) {
      flood.trySend("{\"type\":\"subscribe\"}");
    }
    // The server closes with 1008; a client still writing when that close arrives can have its
    // connection reset by its own late writes and see 1006 instead. Closed it is, either way.
    assertThat(flood.closed().get(10, TimeUnit.SECONDS)).isIn(1008, 1006);
    assertHonestClientUnharmed();
  }

  @Test
  void manyConnectionsThatNeverAnswerPingsAreClosed() throws Exception {
    start(c -> {});
    List<ProtocolClient> silent = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      ProtocolClient r = ProtocolClient.builder(ws("")).headers(withToken())
          .reading(false).answering(false).connect(); // never reads, never answers a ping
      assertThat(r.status()).isEqualTo(101);
      silent.add(r);
      open.add(r);
    }
    await().atMost(Duration.ofSeconds(15)).until(() -> server.node().hub().connectionCount() == 1);
    System.out.printf("MEASURE idle_unresponsive closed=%d%n", silent.size());
    assertHonestClientUnharmed();
  }

  @Test
  void refusedHandshakesGetTheirStatusAShortBodyAndNoStackTrace() throws Exception {
    start(c -> {});
    ExecutorService flood = Executors.newFixedThreadPool(4);
    List<Future<ProtocolClient.Answer>> answers = new ArrayList<>();
    for (int i = 0; i < 400; i++) {
      Map<String, String> headers = i % 2 == 0
          ? Map.of("Origin", "https://ops.example.com", "Authorization", "Bearer forged.to.ken")
          : Map.of("Origin", "https://ops.example.com");
      answers.add(flood.submit(() -> ProtocolClient.answer(ws(""), headers)));
    }
    for (Future<ProtocolClient.Answer> f : answers) {
      ProtocolClient.Answer a = f.get(30, TimeUnit.SECONDS);
      assertThat(a.status()).isEqualTo(401);
      assertThat(a.body()).hasSizeLessThan(60).doesNotContain("Exception");
    }
    flood.shutdown();
    assertThat(ProtocolClient.answer(ws(""), withToken("Origin", "https://evil.example"))
        .status()).isEqualTo(403);
    ProtocolClient.Answer oldVersion = ProtocolClient.answer(ws(""),
        withToken("Origin", "https://ops.example.com", "Sec-WebSocket-Version", "8"));
    assertThat(oldVersion.status()).isEqualTo(426);
    assertThat(oldVersion.head()).containsIgnoringCase("Sec-WebSocket-Version: 13");
    String metrics = body("/metrics");
    String refused = "fanout_handshakes_refused_total";
    assertThat(metrics).contains(refused + "{reason=\"token missing\",status=\"401\"} 200.0",
        refused + "{reason=\"invalid token\",status=\"401\"} 200.0",
        refused + "{reason=\"origin not allowed\",status=\"403\"} 1.0",
        refused + "{reason=\"WebSocket version 13 required\",status=\"426\"} 1.0");
    assertHonestClientUnharmed();
  }

  @Test
  void resumesThatReplayFromFarBackAreBudgetedPerPrincipal() throws Exception {
    start(c -> {
      c.rate = 50;
      c.queueSize = 16_384; // the honest client takes the 9,000 events published below at once
      c.replayPerSecond = 2_000;
      c.replayBurst = 10_000;
    });
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 9_000; i++) {
      ids.add(server.node().publish("mch_" + i % 5, Map.of("method", "card"),
          "{\"merchantId\":\"mch_" + i % 5 + "\"}").toString());
    }
    String farBack = ids.get(ids.size() - 8_000);
    String attackerToken = TestJwts.mint("attacker", List.of(), Duration.ofMinutes(5));
    List<ProtocolClient> attackers = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      attackers.add(probe(attackerToken));
    }
    ScheduledExecutorService pacer = Executors.newSingleThreadScheduledExecutor();
    long t0 = System.nanoTime();
    pacer.scheduleAtFixedRate(() -> attackers.forEach(a -> a.trySend(
        "{\"type\":\"subscribe\",\"lastEventId\":\"" + farBack + "\"}")), 0, 250,
        TimeUnit.MILLISECONDS);
    try {
      await().atMost(Duration.ofSeconds(10)).until(() -> attackers.stream()
          .allMatch(a -> a.closed().isDone()) || System.nanoTime() - t0 > 3_000_000_000L);
    } finally {
      pacer.shutdownNow();
    }
    long seconds = Math.max(1, (System.nanoTime() - t0) / 1_000_000_000L);
    long replayed = attackers.stream().mapToLong(a -> a.eventIds().size()).sum();
    System.out.printf("MEASURE replay_budget attackers=10 seconds=%d replayed=%d closed_1013=%d%n",
        seconds, replayed, attackers.stream().filter(a -> a.closed().getNow(0) == 1013).count());
    // Unbudgeted, ten connections would have been sent 10 x 4/s x 8,000 = 320,000 events a
    // second. Budgeted: the burst, the refill, and the replays admitted before their cost
    // was known (at most one in flight per connection).
    assertThat(replayed).isLessThan(10_000 + 2_000 * (seconds + 1) + 10 * 8_000L);
    assertThat(attackers).anyMatch(a -> a.closed().getNow(0) == 1013);
    await().atMost(Duration.ofSeconds(5)).until(() -> body("/metrics")
        .contains("fanout_connections_closed_by_code_total{code=\"1013\"}"));
    assertHonestClientUnharmed();
  }

  @Test
  void onlyGetAndHeadAreServedButPostAndDeleteOnSession() throws Exception {
    start(c -> {});
    for (String path : List.of("/health", "/metrics", "/", "/fanout-client.js")) {
      for (String method : List.of("TRACE", "PUT", "DELETE", "POST", "OPTIONS")) {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(http(path))
            .method(method, HttpRequest.BodyPublishers.noBody())
            .header("Authorization", "Bearer secret-credential").build(),
            HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(method + " " + path).isEqualTo(405);
        assertThat(r.body()).doesNotContain("secret-credential");
      }
      assertThat(HTTP.send(HttpRequest.newBuilder(http(path)).GET().build(),
          HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
    }
    for (String method : List.of("TRACE", "PUT", "OPTIONS", "PATCH")) {
      HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(http("/session"))
          .method(method, HttpRequest.BodyPublishers.noBody())
          .header("Authorization", "Bearer secret-credential").build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).as(method + " /session").isEqualTo(405);
      assertThat(r.body()).doesNotContain("secret-credential");
    }
  }

  @Test
  void healthSaysDrainingFromTheFirstMomentOfAShutdown() throws Exception {
    start(c -> c.shutdownSpread = Duration.ofSeconds(3));
    for (int i = 0; i < 10; i++) { // the spread paces their closes: the drain takes 3 s
      probe(token(List.of()));
    }
    port = server.port();
    assertThat(status("/health/ready")).isEqualTo(200);
    Thread drain = new Thread(server::shutdown, "test-drain");
    drain.start();
    try {
      await().atMost(Duration.ofSeconds(2)).until(() -> status("/health") == 503);
      assertThat(body("/health")).contains("\"status\":\"DRAINING\"");
      assertThat(status("/health/ready")).isEqualTo(503);
      assertThat(body("/health/ready")).contains("draining");
      assertThat(status("/health/live")).isEqualTo(200);
    } finally {
      drain.join(10_000);
    }
  }

  private static final HttpClient HTTP = HttpClient.newHttpClient();

  private int port; // while draining the server reports no port: captured before

  private URI http(String path) {
    return URI.create("http://127.0.0.1:" + (port != 0 ? port : server.port()) + path);
  }

  private int status(String path) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(http(path)).build(),
        HttpResponse.BodyHandlers.discarding()).statusCode();
  }

  private String body(String path) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(http(path)).build(),
        HttpResponse.BodyHandlers.ofString()).body();
  }
}
