package dev.fanout.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.google.gson.Gson;
import com.google.gson.JsonObject;
import dev.fanout.client.Frame;
import dev.fanout.client.FrameCodec;
import dev.fanout.client.ProtocolClient;
import dev.fanout.client.Warmup;
import dev.fanout.core.Backpressure;
import dev.fanout.core.EventId;
import dev.fanout.core.Hub;
import dev.fanout.core.InMemoryStream;
import dev.fanout.core.Scope;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.HashSet;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Protocol v1 against a real container over loopback, with real WebSocket clients. One suite for
 * every container: a subclass names the container.
 */
public abstract class ProtocolSuite {
  static final String ORIGIN = "https://ops.example.com";

  InMemoryStream stream;
  Hub hub;
  FanoutNode node;
  URI uri;
  ServerFixture server;
  final List<ProtocolClient> clients = new ArrayList<>();

  /** The transport under test, not started yet. */
  protected abstract ServerFixture newServer();

  /**
   * The status a container answers to an upgrade without its {@code Sec-WebSocket-Key} or {@code
   * Connection: Upgrade}: 400 where the adapter or container says so.
   */
  protected int statusOfAnIncompleteUpgrade() {
    return 400;
  }

  /**
   * Whether the container stops reading a client that sends pings without reading their pongs
   * (so the pongs it owes cannot pile up in memory).
   */
  protected boolean stopsReadingAPingerThatDoesNotRead() {
    return true;
  }

  /** A node on an in-memory stream: delivery settings, then protocol settings, on its builder. */
  void start(Consumer<FanoutNode.Builder> hubSettings, Consumer<FanoutNode.Builder> wsSettings)
      throws Exception {
    stream = InMemoryStream.create(1000);
    FanoutNode.Builder b = FanoutNode.builder().stream(stream).snapshotSize(5)
        .allowedOrigins(ORIGIN);
    hubSettings.accept(b);
    wsSettings.accept(b);
    node = b.build().start();
    hub = node.hub();
    server = newServer();
    uri = server.start(node);
  }

  void start() throws Exception {
    start(h -> {}, w -> {});
  }

  ProtocolClient client() throws Exception {
    return client(Map.of());
  }

  ProtocolClient client(Map<String, String> headers) throws Exception {
    ProtocolClient c = ProtocolClient.connect(uri, headers);
    clients.add(c);
    return c;
  }

  ProtocolClient client(URI at) throws Exception {
    ProtocolClient c = ProtocolClient.connect(at);
    clients.add(c);
    return c;
  }

  /** A client that reads nothing and answers nothing, unless asked. */
  /** This JVM's open files (clients and server share it). */
  static long openFiles() throws IOException {
    try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
      return fds.count();
    }
  }

  ProtocolClient unresponsive() throws Exception {
    return ProtocolClient.builder(uri).reading(false).answering(false).connect();
  }

  @AfterEach
  void stopAll() {
    clients.forEach(ProtocolClient::close);
    if (node != null) {
      node.close();
    }
    if (server != null) {
      server.close();
    }
  }

  EventId pay(String merchant, String method) {
    return stream.publish(merchant, Map.of("method", method),
        "{\"merchantId\":\"" + merchant + "\",\"method\":\"" + method
            + "\",\"status\":\"captured\"}");
  }

  static boolean isType(JsonObject frame, String type) {
    return frame.get("type").getAsString().equals(type);
  }

  // ---- subscribe, snapshot, live ----

  @Test
  void subscribeGetsSubscribedThenSnapshotThenLive() throws Exception {
    start();
    EventId old = pay("mch_1", "card");
    ProtocolClient c = client();
    c.send("{\"type\":\"subscribe\",\"topics\":[\"mch_1\"]}");
    JsonObject subscribed = c.nextOfType("subscribed");
    assertThat(subscribed.get("recovered").getAsBoolean()).isFalse();
    EventId live = pay("mch_1", "card");
    pay("mch_2", "card");
    await().until(() -> c.eventIds().size() >= 2);
    assertThat(c.eventIds()).containsExactly(old.toString(), live.toString());
    JsonObject event = c.events().get(1);
    assertThat(event.getAsJsonObject("data").get("merchantId").getAsString()).isEqualTo("mch_1");
  }

  @Test
  void methodsFilterAndANewSubscribeReplacesTheOld() throws Exception {
    start(h -> h.snapshotSize(0), w -> {});
    ProtocolClient c = client();
    c.send("{\"type\":\"subscribe\",\"filters\":{\"method\":[\"sepa\"]}}");
    c.nextOfType("subscribed");
    pay("mch_1", "card");
    EventId sepa = pay("mch_2", "sepa");
    await().until(() -> c.eventIds().size() >= 1);
    c.send("{\"type\":\"subscribe\",\"topics\":[\"mch_1\"],"
        + "\"filters\":{\"method\":[\"card\"]}}");
    c.nextOfType("subscribed");
    pay("mch_2", "sepa");
    EventId card = pay("mch_1", "card");
    await().until(() -> c.eventIds().size() >= 2);
    assertThat(c.eventIds()).containsExactly(sepa.toString(), card.toString());
  }

  @Test
  void resumeGetsExactlyWhatWasMissed() throws Exception {
    start();
    EventId seen = pay("mch_1", "card");
    List<String> missed = new ArrayList<>();
    for (int i = 0; i < 7; i++) {
      missed.add(pay("mch_1", "card").toString());
    }
    ProtocolClient c = client();
    c.send("{\"type\":\"subscribe\",\"lastEventId\":\"" + seen + "\"}");
    JsonObject subscribed = c.nextOfType("subscribed");
    assertThat(subscribed.get("recovered").getAsBoolean()).isTrue();
    assertThat(subscribed.get("missed").getAsInt()).isEqualTo(7);
    missed.add(pay("mch_1", "card").toString());
    await().until(() -> c.eventIds().size() >= 8);
    assertThat(c.eventIds()).isEqualTo(missed);
  }

  @Test
  void anUnknownResumePointGivesRecoveredFalseAndAFreshSnapshot() throws Exception {
    start();
    List<String> all = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      all.add(pay("mch_1", "card").toString());
    }
    ProtocolClient c = client();
    c.send("{\"type\":\"subscribe\",\"lastEventId\":\"otherEpoch:3\"}");
    JsonObject subscribed = c.nextOfType("subscribed");
    assertThat(subscribed.get("recovered").getAsBoolean()).isFalse();
    await().until(() -> c.eventIds().size() >= 5);
    assertThat(c.eventIds()).isEqualTo(all.subList(3, 8));
  }

  @Test
  void aPerConnectionFilterChosenFromThePrincipalApplies() throws Exception {
    start(h -> h.snapshotSize(0), w -> w
        .authenticator(req -> Authentication.allow(
            req.parameter("who"), Scope.all()))
        .filter(auth -> auth.principal().equals("support")
            ? e -> !e.topic().equals("mch_2") : null));
    ProtocolClient support = client(URI.create(uri + "?who=support"));
    ProtocolClient ops = client(URI.create(uri + "?who=ops"));
    for (ProtocolClient c : List.of(support, ops)) {
      c.send("{\"type\":\"subscribe\"}");
      c.nextOfType("subscribed");
    }
    EventId one = pay("mch_1", "card");
    EventId two = pay("mch_2", "card");
    await().until(() -> ops.eventIds().size() == 2);
    assertThat(ops.eventIds()).containsExactly(one.toString(), two.toString());
    await().until(() -> support.eventIds().contains(one.toString()));
    assertThat(support.eventIds()).containsExactly(one.toString());
  }

  // ---- handshake ----

  @Test
  void originsAreCheckedBeforeTheUpgrade() throws Exception {
    start();
    assertThat(ProtocolClient.status(uri, Map.of("Origin", "https://evil.example"))).isEqualTo(403);
    assertThat(ProtocolClient.status(uri, Map.of("Origin", "https://ops.example.com.evil.example")))
        .isEqualTo(403);
    assertThat(ProtocolClient.status(uri, Map.of("Origin", "null"))).isEqualTo(403);
    assertThat(ProtocolClient.status(uri, Map.of("Origin", "http://ops.example.com")))
        .isEqualTo(403);
    assertThat(ProtocolClient.status(uri, Map.of("Origin", "HTTPS://OPS.example.com:443")))
        .isEqualTo(101);
    assertThat(ProtocolClient.status(uri, Map.of())).isEqualTo(101);
  }

  @Test
  void aMissingOriginCanBeRefused() throws Exception {
    start(h -> {}, w -> w.allowMissingOrigin(false));
    assertThat(ProtocolClient.status(uri, Map.of())).isEqualTo(403);
    assertThat(ProtocolClient.status(uri, Map.of("Origin", ORIGIN))).isEqualTo(101);
  }

  @Test
  void refusedAuthenticationNeverUpgrades() throws Exception {
    start(h -> {}, w -> w.authenticator(req -> {
      String token = req.parameter("token");
      if (token == null) {
        return Authentication.unauthorized("token missing");
      }
      if (token.equals("boom")) {
        throw new IllegalStateException("authenticator bug");
      }
      return token.equals("good") ? Authentication.allow("u", Scope.all())
          : Authentication.forbidden("token not valid");
    }));
    URI base = uri;
    int refused = ProtocolClient.status(base, Map.of());
    System.out.printf("MEASURE %s refused_handshake_status=%d%n", getClass().getSimpleName(),
        refused);
    assertThat(refused).isNotEqualTo(101);
    assertThat(ProtocolClient.status(URI.create(base + "?token=bad"), Map.of())).isNotEqualTo(101);
    assertThat(ProtocolClient.status(URI.create(base + "?token=boom"), Map.of())).isNotEqualTo(101);
    assertThat(ProtocolClient.status(URI.create(base + "?token=good"), Map.of())).isEqualTo(101);
    await().until(() -> hub.connectionCount() == 0);
  }

  // ---- warm-up ----

  @Test
  void aWarmUpsConnectionsAreAnsweredAndNoneStays() throws Exception {
    AtomicInteger handshakes = new AtomicInteger();
    start(h -> {}, w -> w.authenticator(req -> {
      handshakes.incrementAndGet();
      return "t".equals(req.parameter("token")) ? Authentication.allow("warmup", Scope.all())
          : Authentication.unauthorized("token missing");
    }));
    assertThat(Warmup.run(URI.create(uri + "?token=t"), Map.of("Origin", ORIGIN), 20))
        .isEqualTo(Warmup.ROUNDS * 20);
    assertThat(handshakes.get()).isGreaterThanOrEqualTo(Warmup.ROUNDS * 20);
    await().atMost(Duration.ofSeconds(10)).until(() -> node.status().connections() == 0);
  }

  @Test
  void aRefusedWarmUpStopsAfterItsFirstRound() throws Exception {
    AtomicInteger handshakes = new AtomicInteger();
    start(h -> {}, w -> w.authenticator(req -> {
      handshakes.incrementAndGet();
      return Authentication.unauthorized("token missing");
    }));
    assertThat(Warmup.run(uri, Map.of("Origin", ORIGIN), 20)).isZero();
    assertThat(handshakes.get()).isBetween(1, 2 * 20); // one round (checked once or twice each)
    assertThat(node.status().connections()).isZero();
  }

  @Test
  @Timeout(8) // a refused subscribe must end the warm-up, not wait out its 10 s read timeout
  void aWarmUpWhoseSubscribeIsRefusedStopsAtOnce() throws Exception {
    start(h -> {}, w -> w.authenticator(req -> Authentication.allow("u", Scope.of("mch_1"))));
    assertThat(Warmup.run(uri, Map.of("Origin", ORIGIN), 20)).isZero();
    await().atMost(Duration.ofSeconds(10)).until(() -> node.status().connections() == 0);
  }

  @Test
  void connectionCapsHold() throws Exception {
    start(h -> {}, w -> w.maxConnections(3).maxConnectionsPerPrincipal(2)
        .authenticator(req -> Authentication.allow(
            req.parameter("who"), Scope.all())));
    ProtocolClient a1 = ProtocolClient.connect(URI.create(uri + "?who=a"));
    ProtocolClient a2 = ProtocolClient.connect(URI.create(uri + "?who=a"));
    // a connection counts once its session is open, which on Netty follows its 101 (a client
    // that connects at once may otherwise be let in, and a2 refused in its place)
    await().until(() -> node.status().connections() == 2);
    ProtocolClient a3 = ProtocolClient.connect(URI.create(uri + "?who=a"));
    assertThat(a3.awaitClose()).isEqualTo(1013);
    ProtocolClient b1 = ProtocolClient.connect(URI.create(uri + "?who=b"));
    await().until(() -> node.status().connections() == 3);
    assertThat(ProtocolClient.status(URI.create(uri + "?who=c"), Map.of())).isNotEqualTo(101);
    a1.close();
    await().until(() -> node.status().connections() == 2);
    ProtocolClient c1 = ProtocolClient.connect(URI.create(uri + "?who=c"));
    await().until(() -> node.status().connections() == 3);
    List.of(a2, b1, c1).forEach(ProtocolClient::close);
  }

  /**
   * Tenant isolation as a property: over random scopes, subscriptions and events, no client ever
   * receives a merchant outside its scope, on the snapshot, resume or live path; and each gets
   * every live event it is entitled to (so the check is not vacuous).
   */
  @Test
  void noClientEverSeesAMerchantOutsideItsScope() throws Exception {
    Map<String, Set<String>> scopes = new ConcurrentHashMap<>();
    start(h -> h.snapshotSize(10), w -> w.authenticator(req -> {
      String token = req.parameter("token");
      Set<String> scope = scopes.get(token);
      return scope == null ? Authentication.allow(token, Scope.all())
          : Authentication.allow(token, Scope.of(scope));
    }));
    for (long seed = 1; seed <= 4; seed++) {
      Random r = new Random(seed);
      List<EventId> early = new ArrayList<>();
      for (int i = 0; i < 30; i++) {
        early.add(pay("m" + r.nextInt(8), r.nextBoolean() ? "card" : "sepa"));
      }
      List<ProtocolClient> cs = new ArrayList<>();
      List<Set<String>> allowed = new ArrayList<>();
      for (int i = 0; i < 12; i++) {
        String token = "s" + seed + "c" + i;
        Set<String> scope = null;
        if (r.nextInt(4) != 0) {
          scope = new HashSet<>();
          for (int m = 0; m < 8; m++) {
            if (r.nextInt(3) == 0) {
              scope.add("m" + m);
            }
          }
          scopes.put(token, scope);
        }
        List<String> wanted = new ArrayList<>();
        if (r.nextBoolean()) {
          for (int m = 0; m < 8; m++) {
            if (r.nextBoolean() && (scope == null || scope.contains("m" + m))) {
              wanted.add("m" + m);
            }
          }
        }
        Set<String> entitled = new HashSet<>();
        for (int m = 0; m < 8; m++) {
          String merchant = "m" + m;
          if ((scope == null || scope.contains(merchant))
              && (wanted.isEmpty() || wanted.contains(merchant))) {
            entitled.add(merchant);
          }
        }
        ProtocolClient c = ProtocolClient.connect(URI.create(uri + "?token=" + token));
        clients.add(c);
        String resume = r.nextInt(3) == 0 ? ",\"lastEventId\":\"" + early.get(r.nextInt(30)) + "\""
            : r.nextInt(3) == 0 ? ",\"lastEventId\":\"gone:5\"" : "";
        c.send("{\"type\":\"subscribe\",\"topics\":" + new Gson().toJson(wanted)
            + resume + "}");
        c.nextOfType("subscribed");
        cs.add(c);
        allowed.add(entitled);
      }
      List<List<String>> owed = new ArrayList<>();
      cs.forEach(c -> owed.add(new ArrayList<>()));
      for (int i = 0; i < 60; i++) {
        String merchant = "m" + r.nextInt(8);
        EventId id = pay(merchant, "card");
        for (int k = 0; k < cs.size(); k++) {
          if (allowed.get(k).contains(merchant)) {
            owed.get(k).add(id.toString());
          }
        }
      }
      for (int k = 0; k < cs.size(); k++) {
        ProtocolClient c = cs.get(k);
        List<String> mustHave = owed.get(k);
        await().until(() -> c.eventIds().containsAll(mustHave));
        for (JsonObject e : c.events()) {
          String merchant = e.getAsJsonObject("data").get("merchantId").getAsString();
          assertThat(allowed.get(k)).as("seed %d client %d got %s", seed, k, e).contains(merchant);
        }
        c.close();
      }
    }
  }

  // ---- bad input ----

  @Test
  void badMessagesGetErrorFramesAndTheConnectionStaysUsable() throws Exception {
    start(h -> {}, w -> w.maxTopics(3).subscribeRate(1000, 1000));
    ProtocolClient healthy = client();
    healthy.send("{\"type\":\"subscribe\"}");
    healthy.nextOfType("subscribed");
    ProtocolClient c = client();
    String[][] cases = {
        {"not json", "bad_request"},
        {"{\"type\":\"subscribe\"", "bad_request"},
        {"[1,2]", "bad_request"},
        {"{\"type\":42}", "bad_request"},
        {"{\"topics\":[\"a\"]}", "bad_request"},
        {"{\"type\":\"publish\"}", "unknown_type"},
        {"{\"type\":\"subscribe\",\"topics\":\"mch_1\"}", "bad_request"},
        {"{\"type\":\"subscribe\",\"topics\":[1e999999]}", "bad_request"},
        {"{\"type\":\"subscribe\",\"topics\":[\"a\",\"b\",\"c\",\"d\"]}", "too_many"},
        {"{\"type\":\"subscribe\",\"topics\":[\"\"]}", "bad_request"},
        {"{\"type\":\"subscribe\",\"lastEventId\":\"abc\"}", "bad_request"},
        {"{\"type\":\"subscribe\",\"lastEventId\":7}", "bad_request"},
        {"{\"type\":\"subscribe\",\"x\":[[[[[[[[[[1]]]]]]]]]]}", "bad_request"},
        {"{\"type\":\"subscribe\"} trailing", "bad_request"},
        {"{'type':'subscribe'}", "bad_request"},
    };
    for (String[] bad : cases) {
      c.send(bad[0]);
      JsonObject error = c.nextOfType("error");
      assertThat(error.get("code").getAsString()).as(bad[0]).isEqualTo(bad[1]);
      assertThat(error.get("message").getAsString()).isNotBlank();
    }
    c.send("{\"type\":\"subscribe\",\"huge\":123456789012345678901234567890e99999,"
        + "\"topics\":[\"mch_1\"]}");
    c.nextOfType("subscribed");
    EventId e = pay("mch_1", "card");
    await().until(() -> c.eventIds().contains(e.toString())
        && healthy.eventIds().contains(e.toString()));
    c.assertOpen();
  }

  @Test
  void anOversizedMessageClosesWith1009() throws Exception {
    start(h -> {}, w -> w.maxMessageBytes(1024));
    ProtocolClient healthy = client();
    healthy.send("{\"type\":\"subscribe\"}");
    healthy.nextOfType("subscribed");
    ProtocolClient c = client();
    c.send("{\"type\":\"subscribe\",\"topics\":[\"" + "x".repeat(2000) + "\"]}");
    assertThat(c.awaitClose()).isEqualTo(1009);
    assertThat(c.closeReason()).isEqualTo("message larger than 1024 bytes"); // on every container
    ProtocolClient huge = client(); // over 4x the limit: the container refuses it, in its own words
    huge.send("{\"type\":\"subscribe\",\"topics\":[\"" + "x".repeat(5000) + "\"]}");
    assertThat(huge.awaitClose()).isEqualTo(1009);
    EventId e = pay("mch_1", "card");
    await().until(() -> healthy.eventIds().contains(e.toString()));
  }

  @Test
  void binaryMessagesCloseWith1003() throws Exception {
    start();
    ProtocolClient c = client();
    c.sendBinary(new byte[] {1, 2, 3});
    assertThat(c.awaitClose()).isEqualTo(1003);
  }

  @Test
  void malformedFramesCloseWithTheirCodesAndTheOthersStayUp() throws Exception {
    start();
    ProtocolClient healthy = client();
    healthy.send("{\"type\":\"subscribe\"}");
    healthy.nextOfType("subscribed");
    try (ProtocolClient ws = ProtocolClient.connect(uri)) {
      ws.sendFrame(0x1, new byte[] {'{', (byte) 0xC3, (byte) 0x28, '}'}); // text, not UTF-8
      assertThat(ws.awaitClose()).isEqualTo(1007);
    }
    try (ProtocolClient ws = ProtocolClient.connect(uri)) {
      ws.sendFrame(0x3, new byte[] {1}); // a reserved opcode
      assertThat(ws.awaitClose()).isEqualTo(1002);
    }
    EventId e = pay("mch_1", "card");
    await().until(() -> healthy.eventIds().contains(e.toString()));
    await().until(() -> hub.connectionCount() == 1);
  }

  @Test
  void everyPingOfAReadingClientIsAnsweredWithItsPayload() throws Exception {
    start();
    try (ProtocolClient ws = ProtocolClient.connect(uri)) {
      for (int i = 0; i < 100; i++) {
        ws.sendFrame(0x9, ("ping " + i).getBytes(StandardCharsets.US_ASCII));
      }
      for (int i = 0; i < 100; i++) {
        Frame f = ws.nextFrame();
        assertThat(f).isNotNull();
        assertThat(f.opcode()).isEqualTo(0xA);
        assertThat(new String(f.payload(), StandardCharsets.US_ASCII)).isEqualTo("ping " + i);
      }
    }
  }

  @Test
  void aClientThatPingsWithoutReadingIsNotReadFurther() throws Exception {
    assumeTrue(stopsReadingAPingerThatDoesNotRead(), "a known limit of this container");
    start();
    ProtocolClient healthy = client();
    healthy.send("{\"type\":\"subscribe\"}");
    healthy.nextOfType("subscribed");
    ByteArrayOutputStream pings = new ByteArrayOutputStream();
    for (int i = 0; i < 64; i++) { // 8 KiB of pings a write
      pings.writeBytes(FrameCodec.clientFrame(FrameCodec.PING, new byte[125]));
    }
    long limit = 256L << 20; // a server that kept reading (and buffering pongs) would reach it
    AtomicLong written = new AtomicLong();
    AtomicLong lastSeen = new AtomicLong(-1);
    AtomicLong stillSince = new AtomicLong(System.nanoTime());
    try (ProtocolClient flooder = unresponsive()) {
      byte[] flood = pings.toByteArray();
      Thread writer = new Thread(() -> flooder.writeRepeatedly(flood, limit, written));
      writer.setDaemon(true); // ends when the socket closes
      writer.start();
      // Until the writes stall (the server stopped reading: its socket buffers are full) for
      // a second, or the limit is reached.
      await().atMost(Duration.ofSeconds(60)).until(() -> {
        long now = System.nanoTime();
        long w = written.get();
        if (w != lastSeen.getAndSet(w)) {
          stillSince.set(now);
        }
        return w >= limit || now - stillSince.get() > TimeUnit.SECONDS.toNanos(1);
      });
      System.out.printf("MEASURE %s ping_flood_bytes_written=%d%n", getClass().getSimpleName(),
          written.get());
      assertThat(written.get()).isLessThan(limit);
      EventId e = pay("mch_1", "card");
      await().until(() -> healthy.eventIds().contains(e.toString()));
    }
  }

  @Test
  void anUpgradeWithoutItsKeyOrConnectionHeaderIsRefused() throws Exception {
    start();
    String request = "GET " + uri.getRawPath() + " HTTP/1.1\r\nHost: " + uri.getHost() + ":"
        + uri.getPort() + "\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n";
    assertThat(ProtocolClient.answerTo(uri, request + "Connection: Upgrade").status())
        .isEqualTo(statusOfAnIncompleteUpgrade());
    assertThat(ProtocolClient.answerTo(uri, request + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==")
        .status()).isEqualTo(statusOfAnIncompleteUpgrade());
    assertThat(ProtocolClient.status(uri, Map.of())).isEqualTo(101); // the same request, whole
    assertThat(ProtocolClient.answerTo(uri, request
        + "Connection: keep-alive, Upgrade\r\n" // Firefox's
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==").status()).isEqualTo(101);
    await().until(() -> hub.connectionCount() == 0);
  }

  @Test
  void aSubscribeFloodIsRateLimitedThenClosedWith1008() throws Exception {
    start(h -> {}, w -> w.subscribeRate(1, 3).maxProtocolErrors(5));
    ProtocolClient c = client();
    for (int i = 0; i < 3; i++) {
      c.send("{\"type\":\"subscribe\"}");
      c.nextOfType("subscribed");
    }
    c.send("{\"type\":\"subscribe\"}");
    assertThat(c.nextOfType("error").get("code").getAsString()).isEqualTo("rate_limited");
    for (int i = 0; i < 20 && c.trySend("{\"type\":\"subscribe\"}"); i++) {
      // the server closes the connection part-way through the flood
    }
    // 1008 from the server; writes still in flight when it closes may reset the connection, and
    // then the client sees 1006. Either way the flooder is gone.
    assertThat(c.awaitClose()).isIn(1008, 1006);
    await().until(() -> hub.connectionCount() == 0);
  }

  @Test
  void topicsOutsideTheScopeAreForbidden() throws Exception {
    start(h -> {}, w -> w.authenticator(req -> Authentication.allow("u", Scope.of("mch_1"))));
    pay("mch_2", "card");
    ProtocolClient c = client();
    c.send("{\"type\":\"subscribe\",\"topics\":[\"mch_1\",\"mch_2\"]}");
    assertThat(c.nextOfType("error").get("code").getAsString()).isEqualTo("forbidden");
    c.send("{\"type\":\"subscribe\"}");
    c.nextOfType("subscribed");
    pay("mch_2", "card");
    EventId mine = pay("mch_1", "card");
    await().until(() -> c.eventIds().contains(mine.toString()));
    assertThat(c.eventIds()).containsExactly(mine.toString());
  }

  @Test
  void aDeploymentsOwnWordsMeanTheGenericFields() throws Exception {
    start(h -> {}, w -> w.topicAlias("merchants").filterAlias("methods", "method"));
    ProtocolClient payment = client();
    payment.send("{\"type\":\"subscribe\",\"merchants\":[\"mch_1\"],\"methods\":[\"card\"]}");
    ProtocolClient generic = client();
    generic.send("{\"type\":\"subscribe\",\"topics\":[\"mch_1\"],"
        + "\"filters\":{\"method\":[\"card\"]}}");
    pay("mch_2", "card");
    pay("mch_1", "sepa");
    EventId wanted = pay("mch_1", "card");
    await().until(() -> payment.eventIds().contains(wanted.toString())
        && generic.eventIds().contains(wanted.toString()));
    assertThat(payment.eventIds()).containsExactly(wanted.toString());
    assertThat(generic.eventIds()).containsExactly(wanted.toString());
    payment.send("{\"type\":\"subscribe\",\"merchants\":[\"a\"],\"topics\":[\"b\"]}");
    assertThat(payment.nextOfType("error").get("code").getAsString()).isEqualTo("bad_request");
  }

  // ---- backpressure over a real socket ----

  /**
   * Publishes large events until the stalled client's socket buffers are surely full, in chunks
   * that the fast client reads before the next: the fast client's outbox never nears its cap, so
   * anything it misses is the slow client's fault.
   */
  @Test
  void aHotConnectionGetsEveryEventOnceAndInOrderWhenItsEventsGoOutTogether() throws Exception {
    start(h -> h.sendThreads(1).batchLinger(Duration.ofMillis(20)).snapshotSize(0), w -> {});
    ProtocolClient c = client();
    c.send("{\"type\":\"subscribe\"}");
    c.nextOfType("subscribed");
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 500; i++) { // faster than the linger: a hot connection
      ids.add(pay("mch_" + (i % 7), i % 2 == 0 ? "card" : "sepa").toString());
    }
    await().atMost(Duration.ofSeconds(20)).until(() -> c.eventIds().size() >= ids.size());
    assertThat(c.eventIds()).isEqualTo(ids);
    // batch frames where the adapter cannot write events together; none where it can
    assertThat(c.messages().stream().anyMatch(f -> isType(f, "batch")))
        .isEqualTo(!server.writesEventsTogether());
  }

  private List<String> flood(int n, ProtocolClient fast) {
    String pad = "p".repeat(16 * 1024);
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      ids.add(stream.publish("mch_1", Map.of("method", "card", "paymentId", "pay_" + (i % 10)),
          "{\"i\":" + i + ",\"pad\":\"" + pad + "\"}").toString());
      if (ids.size() % 8 == 0) {
        int sent = ids.size();
        await().pollInterval(Duration.ofMillis(1)).atMost(Duration.ofSeconds(10))
            .until(() -> fast.eventIds().size() >= sent);
      }
    }
    return ids;
  }

  private void stalledClientUnder(Backpressure policy, boolean expectClose) throws Exception {
    start(h -> h.outboxCapacity(16).snapshotSize(0), w -> w.backpressure(policy));
    ProtocolClient fast = client();
    fast.send("{\"type\":\"subscribe\"}");
    fast.nextOfType("subscribed");
    ProtocolClient slow = client();
    slow.send("{\"type\":\"subscribe\"}");
    slow.nextOfType("subscribed");
    slow.stall();

    List<String> ids = flood(600, fast);
    await().atMost(Duration.ofSeconds(10)).until(() -> fast.eventIds().size() == ids.size());
    assertThat(fast.eventIds()).isEqualTo(ids);
    assertThat(fast.messages()).noneMatch(f -> isType(f, "dropped"));

    if (expectClose) {
      await().atMost(Duration.ofSeconds(10)).until(() -> hub.connectionCount() == 1);
      slow.resume();
      // Tomcat cannot write the close frame behind the message the client stopped reading
      assertThat(slow.awaitClose()).isIn(server.closesUnresponsivePeers()
          ? List.of(1013) : List.of(1013, 1006));
      return;
    }
    assertThat(hub.connectionCount()).isEqualTo(2);
    slow.resume();
    // once the backlog drains, one more event must get through under every dropping policy
    await().atMost(Duration.ofSeconds(30)).until(() -> hub.queuedEvents() == 0);
    String marker = stream.publish("mch_1", Map.of("method", "card", "paymentId", "last"), "{}")
        .toString();
    await().atMost(Duration.ofSeconds(30)).until(() -> slow.eventIds().contains(marker));
    List<String> got = slow.eventIds();
    assertThat(got).doesNotHaveDuplicates();
    assertThat(got.stream().map(id -> EventId.parse(id).seq())).isSorted();
    assertThat(got.size()).isLessThan(ids.size());
    long dropped = 0;
    for (JsonObject f : new ArrayList<>(slow.messages())) {
      if (isType(f, "dropped")) {
        dropped += f.get("count").getAsLong();
      }
    }
    assertThat(got.size() + dropped).as("every event delivered or counted as dropped")
        .isEqualTo(ids.size() + 1);
  }

  @Test
  void aStalledClientUnderDropNewestLosesOnlyItsOwnEvents() throws Exception {
    stalledClientUnder(Backpressure.dropNewest(), false);
  }

  @Test
  void aStalledClientUnderDropOldestLosesOnlyItsOwnEvents() throws Exception {
    stalledClientUnder(Backpressure.dropOldest(), false);
  }

  @Test
  void aStalledClientUnderConflateLosesOnlyItsOwnEvents() throws Exception {
    stalledClientUnder(Backpressure.conflate(e -> e.attribute("paymentId")), false);
  }

  @Test
  void aStalledClientUnderDisconnectIsClosedWith1013() throws Exception {
    stalledClientUnder(Backpressure.disconnect(), true);
  }

  @Test
  void permessageDeflateIsNotNegotiatedByDefault() throws Exception {
    start();
    ProtocolClient.Answer answer = ProtocolClient.answer(uri,
        Map.of("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"));
    assertThat(answer.status()).isEqualTo(101);
    assertThat(answer.head().toLowerCase()).doesNotContain("permessage-deflate");
  }

  // ---- heartbeat and shutdown ----

  @Test
  void aClientThatNeverAnswersPingsIsClosed() throws Exception {
    start(h -> {}, w -> w.heartbeat(Duration.ofMillis(100), Duration.ofMillis(400)));
    ProtocolClient alive = client();
    try (ProtocolClient silent = unresponsive()) { // reads nothing, never pongs
      assertThat(silent.status()).isEqualTo(101);
      await().atMost(Duration.ofSeconds(10)).until(() -> hub.connectionCount() == 1);
      if (server.closesUnresponsivePeers()) {
        await().atMost(Duration.ofSeconds(10)).until(silent::serverClosed);
      }
    }
    await().during(Duration.ofMillis(800)).atMost(Duration.ofSeconds(2))
        .until(() -> !alive.closed().isDone());
  }

  /**
   * Clients that subscribe to everything and then never read, never pong and never close, while
   * events flow (issue 32): the heartbeat or the outbox closes each, its slot is free at once, and
   * its socket is gone (EOF or reset) within the close deadline, on every container, even though
   * the peer never answers the close. An honest client meanwhile gets every event.
   */
  @Test
  void nonReadersAreClosedAndTheirSocketsAreGoneWithinTheCloseDeadline() throws Exception {
    Duration deadline = Duration.ofSeconds(1);
    start(h -> h.snapshotSize(0).outboxCapacity(64), w -> w
        .heartbeat(Duration.ofMillis(200), Duration.ofMillis(1000)).closeDeadline(deadline));
    ProtocolClient honest = client();
    honest.send("{\"type\":\"subscribe\"}");
    honest.nextOfType("subscribed");
    long filesBefore = openFiles();
    List<ProtocolClient> silent = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      ProtocolClient c = unresponsive();
      c.send("{\"type\":\"subscribe\"}");
      silent.add(c);
    }
    // each got its 101 (connect returns after it); the first may already be closed by the
    // heartbeat (1.2 s) when the last connects on a loaded machine, so no count of all 101
    String pad = "p".repeat(1024);
    List<String> ids = new ArrayList<>();
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
    while (System.nanoTime() < end) { // 500 events/s for 3 s
      ids.add(stream.publish("mch_1", Map.of("method", "card"), "{\"pad\":\"" + pad + "\"}")
          .toString());
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(2));
    }
    // closed by the heartbeat (1.2 s at most) or their full outbox, slots free at once ...
    await().atMost(Duration.ofSeconds(5)).until(() -> node.status().connections() == 1);
    // ... and their sockets gone on the server's side within the deadline (plus 2 s), though
    // the peers read nothing and answered nothing
    await().atMost(deadline.plusSeconds(2)).until(() -> node.status().closingSockets() == 0);
    // every client sees EOF or a reset once it reads again (what the server had sent first):
    // all read at once, not one per poll as allMatch would resume them
    silent.forEach(ProtocolClient::resume);
    await().atMost(Duration.ofSeconds(10))
        .until(() -> silent.stream().allMatch(ProtocolClient::serverClosed));
    silent.forEach(ProtocolClient::close);
    // the files of both ends return to their level before (a few of the JVM's own may come)
    await().atMost(Duration.ofSeconds(5)).until(() -> openFiles() <= filesBefore + 5);
    await().atMost(Duration.ofSeconds(20)).until(() -> honest.eventIds().size() == ids.size());
    assertThat(honest.eventIds()).isEqualTo(ids);
    assertThat(honest.closed()).isNotDone();
  }

  /**
   * At its connection cap, a node whose clients stopped reading frees their slots as soon as it
   * closes them (issue 32: Jetty used to keep them until the peer left), so a new client gets in
   * within the close deadline; the socket count and the cap agree.
   */
  @Test
  void atTheCapNonReadersClosedByTheHeartbeatMakeRoomForNewClients() throws Exception {
    start(h -> h.snapshotSize(0), w -> w.maxConnections(10)
        .heartbeat(Duration.ofMillis(200), Duration.ofMillis(1000))
        .closeDeadline(Duration.ofSeconds(5)));
    List<ProtocolClient> silent = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      ProtocolClient c = unresponsive();
      c.send("{\"type\":\"subscribe\"}");
      silent.add(c);
    }
    await().atMost(Duration.ofSeconds(10)).until(() -> node.status().connections() == 10);
    // 503, or the container's own status where it cannot send one (docs/embedding.md)
    assertThat(ProtocolClient.status(uri, Map.of("Origin", ORIGIN))).isNotEqualTo(101);
    // the heartbeat closes them at 1.2 s at the latest; their peers never answer the close
    await().atMost(Duration.ofSeconds(4)).until(() -> node.status().connections() == 0);
    ProtocolClient late = client();
    late.send("{\"type\":\"subscribe\"}");
    late.nextOfType("subscribed");
    assertThat(node.status().connections()).isEqualTo(1);
    silent.forEach(ProtocolClient::close);
  }

  @Test
  void aStalledClientWithLargeEventsDoesNotStopTheHeartbeatOfTheOthers() throws Exception {
    start(h -> h.snapshotSize(0),
        w -> w.heartbeat(Duration.ofMillis(200), Duration.ofMillis(1000)));
    List<ProtocolClient> healthy = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      ProtocolClient c = client();
      c.send("{\"type\":\"subscribe\"}");
      c.nextOfType("subscribed");
      healthy.add(c);
    }
    ProtocolClient stalled = client();
    stalled.send("{\"type\":\"subscribe\"}");
    stalled.nextOfType("subscribed");
    stalled.stall(); // its socket buffers fill after a few large events, far below the cap
    String big = "{\"pad\":\"" + "x".repeat(256 * 1024) + "\"}";
    List<String> ids = new ArrayList<>();
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(4); // four heartbeat timeouts
    while (System.nanoTime() < end) {
      ids.add(stream.publish("mch_1", Map.of("method", "card"), big).toString());
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(40)); // the publisher's pace
    }
    for (ProtocolClient c : healthy) {
      await().atMost(Duration.ofSeconds(20)).until(() -> c.eventIds().size() == ids.size());
      assertThat(c.eventIds()).isEqualTo(ids);
      assertThat(c.closed()).as("a healthy client kept its heartbeat").isNotDone();
    }
    // the stalled one was closed for not reading (4001), without anyone waiting on it
    await().atMost(Duration.ofSeconds(10)).until(() -> hub.connectionCount() == 3);
  }

  @Test
  void unsolicitedPongsDoNotKeepANonReadingClientAlive() throws Exception {
    start(h -> {}, w -> w.heartbeat(Duration.ofMillis(100), Duration.ofMillis(400)));
    ProtocolClient alive = client();
    ScheduledExecutorService pacer = Executors.newSingleThreadScheduledExecutor();
    try (ProtocolClient pretender = unresponsive()) { // never reads, pongs unasked
      assertThat(pretender.status()).isEqualTo(101);
      pacer.scheduleAtFixedRate(() -> { // an exception (closed) stops the sending
        pretender.sendFrame(FrameCodec.PONG, new byte[0]);
        pretender.sendFrame(FrameCodec.PONG, "alive".getBytes(StandardCharsets.US_ASCII));
      }, 0, 50, TimeUnit.MILLISECONDS);
      await().atMost(Duration.ofSeconds(10)).until(() -> hub.connectionCount() == 1);
    } finally {
      pacer.shutdownNow();
    }
    await().during(Duration.ofMillis(800)).atMost(Duration.ofSeconds(2))
        .until(() -> !alive.closed().isDone());
  }

  @Test
  void shutdownSaysGoingAwayToEveryClient() throws Exception {
    start();
    List<ProtocolClient> all = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      ProtocolClient c = client();
      c.send("{\"type\":\"subscribe\"}");
      c.nextOfType("subscribed");
      all.add(c);
    }
    node.shutdown(Duration.ofMillis(200));
    for (ProtocolClient c : all) {
      assertThat(c.awaitClose()).isEqualTo(1001);
    }
    assertThat(hub.connectionCount()).isZero();
  }
}
