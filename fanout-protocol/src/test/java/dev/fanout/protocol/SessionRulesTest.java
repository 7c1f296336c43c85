package dev.fanout.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fanout.core.InMemoryStream;
import dev.fanout.core.Scope;
import dev.fanout.core.internal.FakeScheduler;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Every per-connection rule of protocol v1 on an in-memory socket under a fake clock: no
 * network, no waiting for a timer. {@code ProtocolSuite} checks the same protocol on real
 * sockets and containers; this checks the rules themselves, one at a time.
 */
class SessionRulesTest {
  private final FakeScheduler clock = new FakeScheduler();
  private final InMemoryStream stream = InMemoryStream.create(1000);
  private FanoutNode node;

  private FanoutNode node(Consumer<FanoutNode.Builder> settings) {
    FanoutNode.Builder b = FanoutNode.builder().stream(stream).snapshotSize(0)
        .threads(new FanoutNode.Threads(Runnable::run, Runnable::run, Runnable::run,
            Runnable::run, clock, List.of()));
    settings.accept(b);
    node = b.build().start();
    return node;
  }

  private ProtocolSession open(InMemorySocket socket) {
    return open(socket, Authentication.allow("ops", Scope.all()));
  }

  private ProtocolSession open(InMemorySocket socket, Authentication auth) {
    return node.open(auth, new InetSocketAddress("127.0.0.1", 40000), socket);
  }

  @AfterEach
  void stop() {
    if (node != null) {
      node.close();
    }
  }

  /** Frames of a type, counting the events inside batch frames one each. */
  private static long count(InMemorySocket socket, String type) {
    String marker = "\"type\":\"" + type + "\"";
    return socket.frames().stream().mapToLong(f -> f.split(marker, -1).length - 1).sum();
  }

  @Test
  void aMessageOverTheLimitClosesWith1009() {
    node(b -> b.maxMessageBytes(64));
    InMemorySocket socket = new InMemorySocket();
    ProtocolSession s = open(socket);
    s.textReceived("{\"type\":\"subscribe\",\"topics\":[\"" + "m".repeat(64) + "\"]}");
    assertThat(socket.closeCode()).isEqualTo(1009);
    assertThat(socket.closeReason()).isEqualTo("message larger than 64 bytes");
  }

  @Test
  void subscribesOverTheTopicAndFilterLimitsGetTooManyAndChangeNothing() {
    node(b -> b.maxTopics(2).maxFilters(1, 2).subscribeRate(1000, 1000));
    InMemorySocket socket = new InMemorySocket();
    ProtocolSession s = open(socket);
    s.textReceived("{\"type\":\"subscribe\",\"topics\":[\"a\",\"b\",\"c\"]}");
    s.textReceived("{\"type\":\"subscribe\",\"filters\":{\"m\":[\"1\"],\"n\":[\"2\"]}}");
    s.textReceived("{\"type\":\"subscribe\",\"filters\":{\"m\":[\"1\",\"2\",\"3\"]}}");
    assertThat(count(socket, "error")).isEqualTo(3);
    assertThat(socket.frames()).allMatch(f -> f.contains("\"code\":\"too_many\""));
    assertThat(count(socket, "subscribed")).isZero();
    s.textReceived("{\"type\":\"subscribe\",\"topics\":[\"a\",\"b\"]}");
    await().until(() -> count(socket, "subscribed") == 1);
  }

  @Test
  void subscribesOverTheRateAreRefusedUntilTheBucketRefills() {
    node(b -> b.subscribeRate(1, 2));
    InMemorySocket socket = new InMemorySocket();
    ProtocolSession s = open(socket);
    for (int i = 0; i < 3; i++) {
      s.textReceived("{\"type\":\"subscribe\"}");
    }
    await().until(() -> count(socket, "subscribed") == 2);
    assertThat(socket.frames()).anyMatch(f -> f.contains("\"code\":\"rate_limited\""));
    clock.advance(Duration.ofSeconds(1));
    s.textReceived("{\"type\":\"subscribe\"}");
    await().until(() -> count(socket, "subscribed") == 3);
    assertThat(socket.closeCode()).isZero();
  }

  @Test
  void badMessagesBeyondTheBudgetCloseWith1008() {
    node(b -> b.maxProtocolErrors(3).subscribeRate(1000, 1000));
    InMemorySocket socket = new InMemorySocket();
    ProtocolSession s = open(socket);
    for (int i = 0; i < 3; i++) {
      s.textReceived("not json");
    }
    assertThat(count(socket, "error")).isEqualTo(3);
    assertThat(socket.closeCode()).isZero();
    s.textReceived("not json");
    assertThat(socket.closeCode()).isEqualTo(1008);
    assertThat(socket.closeReason()).isEqualTo("too many bad messages");
  }

  @Test
  void credentialsThatExpireCloseTheConnectionWith4003() {
    node(b -> b.heartbeat(Duration.ofHours(1), Duration.ofHours(2)));
    InMemorySocket socket = new InMemorySocket();
    open(socket, Authentication.allowUntil("ops", Scope.all(),
        Instant.now().plus(Duration.ofMinutes(10))));
    clock.advance(Duration.ofMinutes(9));
    assertThat(socket.closeCode()).isZero();
    clock.advance(Duration.ofMinutes(2));
    assertThat(socket.closeCode()).isEqualTo(ProtocolSession.CREDENTIALS_EXPIRED);
  }

  @Test
  void aClientThatAnswersPingsStaysAndOneThatStopsIsClosedAtTheTimeout() {
    node(b -> b.heartbeat(Duration.ofSeconds(30), Duration.ofSeconds(60)));
    InMemorySocket answering = new InMemorySocket();
    ProtocolSession a = open(answering);
    InMemorySocket silent = new InMemorySocket();
    open(silent);
    for (int i = 0; i < 6; i++) { // three minutes
      clock.advance(Duration.ofSeconds(30));
      List<byte[]> pings = answering.pings();
      a.pongReceived(ByteBuffer.wrap(pings.get(pings.size() - 1)));
    }
    assertThat(answering.closeCode()).isZero();
    assertThat(silent.closeCode()).isEqualTo(ProtocolSession.HEARTBEAT_TIMEOUT);
    assertThat(silent.pings()).hasSize(2); // closed at 30 s + 60 s: pinged at 30 and 60
  }

  @Test
  void aPongThatDoesNotEchoThePingDoesNotCount() {
    node(b -> b.heartbeat(Duration.ofSeconds(30), Duration.ofSeconds(60)));
    InMemorySocket socket = new InMemorySocket();
    ProtocolSession s = open(socket);
    for (int i = 0; i < 4; i++) {
      clock.advance(Duration.ofSeconds(30));
      s.pongReceived(ByteBuffer.wrap(new byte[] {1, 2, 3}));
    }
    assertThat(socket.closeCode()).isEqualTo(ProtocolSession.HEARTBEAT_TIMEOUT);
  }

  @Test
  void aClientWhoseSendsNeverCompleteIsClosedAtTheTimeoutWithoutAPing() {
    node(b -> b.heartbeat(Duration.ofSeconds(30), Duration.ofSeconds(60)));
    InMemorySocket socket = new InMemorySocket();
    ProtocolSession s = open(socket);
    s.textReceived("{\"type\":\"subscribe\"}");
    await().until(() -> count(socket, "subscribed") == 1);
    socket.stall();
    node.publish("mch_1", Map.of(), "{}"); // its send never completes
    for (int i = 0; i < 3; i++) {
      clock.advance(Duration.ofSeconds(30));
      List<byte[]> pings = socket.pings();
      if (!pings.isEmpty()) { // the pongs come back: only its writes are stuck
        s.pongReceived(ByteBuffer.wrap(pings.get(pings.size() - 1)));
      }
    }
    assertThat(socket.closeCode()).isEqualTo(ProtocolSession.HEARTBEAT_TIMEOUT);
  }

  @Test
  void resumesBeyondTheReplayBudgetAreClosedWith1013() {
    node(b -> b.replayBudget(1, 10).subscribeRate(1000, 1000));
    for (int i = 0; i < 30; i++) {
      node.publish("mch_1", Map.of(), "{\"i\":" + i + "}");
    }
    String from = stream.epoch() + ":1";
    InMemorySocket first = new InMemorySocket();
    open(first).textReceived("{\"type\":\"subscribe\",\"lastEventId\":\"" + from + "\"}");
    await().until(() -> count(first, "event") == 29);
    InMemorySocket second = new InMemorySocket(); // the same principal: the same budget
    open(second).textReceived("{\"type\":\"subscribe\",\"lastEventId\":\"" + from + "\"}");
    assertThat(second.closeCode()).isEqualTo(1013);
    assertThat(second.closeReason()).isEqualTo("replay budget exhausted, retry later");
    clock.advance(Duration.ofSeconds(30)); // 1 event a second, up to 10: refilled
    InMemorySocket third = new InMemorySocket();
    open(third).textReceived("{\"type\":\"subscribe\",\"lastEventId\":\"" + from + "\"}");
    await().until(() -> count(third, "event") == 29);
    assertThat(third.closeCode()).isZero();
  }

  @Test
  void connectionCapsRefuseTheOneTooManyWith1013AndFreeTheSlotOnClose() {
    node(b -> b.maxConnections(3).maxConnectionsPerPrincipal(2));
    Authentication a = Authentication.allow("a", Scope.all());
    InMemorySocket a1 = new InMemorySocket();
    ProtocolSession s1 = open(a1, a);
    open(new InMemorySocket(), a);
    InMemorySocket a3 = new InMemorySocket();
    open(a3, a);
    assertThat(a3.closeCode()).isEqualTo(1013);
    open(new InMemorySocket(), Authentication.allow("b", Scope.all()));
    assertThat(node.check(handshake()).status()).isEqualTo(503);
    s1.closed(1000);
    assertThat(node.check(handshake()).allowed()).isTrue();
    assertThat(node.status().connections()).isEqualTo(2);
  }

  @Test
  void warmUpConnectionsAreServedButNeitherCountedAsClientsNorHeldToTheCaps() {
    node(b -> b.maxConnections(1));
    Authentication warm = node.check(Handshake.of(URI.create("/ws"),
        Map.of("Fanout-Warmup", List.of(node.warmupHeaders().get("Fanout-Warmup"))), null, null));
    InMemorySocket warmSocket = new InMemorySocket();
    ProtocolSession w = node.open(warm, null, warmSocket);
    w.textReceived("{\"type\":\"subscribe\"}");
    await().until(() -> count(warmSocket, "subscribed") == 1);
    assertThat(node.status().connections()).isZero();
    Authentication forged = node.check(Handshake.of(URI.create("/ws"),
        Map.of("Fanout-Warmup", List.of("guess")), null, null));
    InMemorySocket client = new InMemorySocket();
    node.open(forged, null, client); // a wrong nonce is a client like any other
    assertThat(node.status().connections()).isEqualTo(1);
    assertThat(node.check(handshake()).status()).isEqualTo(503); // the cap counts clients only
    w.closed(1000);
    assertThat(node.status().connections()).isEqualTo(1);
  }

  @Test
  void aNodeRefusesHandshakesBeforeItStartsAndOnceItDrains() {
    FanoutNode notStarted = FanoutNode.builder().stream(InMemoryStream.create()).build();
    try {
      assertThat(notStarted.check(handshake()).status()).isEqualTo(503);
      assertThat(notStarted.status().accepting()).isFalse();
    } finally {
      notStarted.close();
    }
    node(b -> {});
    InMemorySocket socket = new InMemorySocket();
    open(socket);
    node.shutdown(Duration.ZERO);
    assertThat(socket.closeCode()).isEqualTo(1001);
    assertThat(node.check(handshake()).status()).isEqualTo(503);
    assertThat(node.status().draining()).isTrue();
    assertThat(node.status().connections()).isZero();
  }

  private static Handshake handshake() {
    return Handshake.of(URI.create("/ws"), Map.of(), null, null);
  }
}
