package dev.fanout.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The protocol client against a scripted server on loopback. */
class ProtocolClientTest {
  private ScriptedServer server;
  private final ExecutorService background = Executors.newCachedThreadPool();
  private final List<AutoCloseable> open = new ArrayList<>();

  @BeforeEach
  void start() throws IOException {
    server = ScriptedServer.start();
  }

  @AfterEach
  void stop() throws Exception {
    for (AutoCloseable c : open) {
      c.close();
    }
    background.shutdownNow();
    server.close();
  }

  /** Connects {@code client} in the background while the server accepts and upgrades it. */
  private ScriptedServer.Peer connect(Callable<ProtocolClient> client, List<ProtocolClient> into)
      throws Exception {
    Future<ProtocolClient> c = background.submit(client);
    ScriptedServer.Peer peer = server.accept().upgrade();
    open.add(peer);
    ProtocolClient connected = c.get(10, TimeUnit.SECONDS);
    open.add(connected);
    into.add(connected);
    return peer;
  }

  private ScriptedServer.Peer connect(List<ProtocolClient> into) throws Exception {
    return connect(() -> ProtocolClient.connect(server.uri()), into);
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void theUpgradeCarriesTheCallersHeadersAndAFreshKey() throws Exception {
    List<ProtocolClient> c = new ArrayList<>();
    ScriptedServer.Peer peer = connect(() -> ProtocolClient.connect(
        URI.create(server.uri() + "?token=t"),
        Map.of("Origin", "https://ops.example.com", "Sec-WebSocket-Version", "13")), c);
    assertThat(peer.request()).startsWith("GET /ws?token=t HTTP/1.1\r\n");
    assertThat(peer.header("Origin")).isEqualTo("https://ops.example.com");
    assertThat(peer.header("Upgrade")).isEqualTo("websocket");
    assertThat(peer.request().split("Sec-WebSocket-Version", -1)).as("one version").hasSize(2);
    assertThat(c.get(0).status()).isEqualTo(101);
    assertThat(c.get(0).head()).contains("Sec-WebSocket-Accept");
    List<ProtocolClient> d = new ArrayList<>();
    ScriptedServer.Peer other = connect(d);
    assertThat(other.header("Sec-WebSocket-Key")).isNotEqualTo(peer.header("Sec-WebSocket-Key"));
  }

  @Test
  void aRefusedUpgradeReportsItsStatusAndBody() throws Exception {
    Future<ProtocolClient> c = background.submit(() -> ProtocolClient.connect(server.uri()));
    server.accept().refuse(403, "not an operator\n").close();
    assertThatThrownBy(() -> c.get(10, TimeUnit.SECONDS)).hasCauseInstanceOf(
        UpgradeRefusedException.class).cause().satisfies(e -> {
          UpgradeRefusedException refused = (UpgradeRefusedException) e;
          assertThat(refused.status()).isEqualTo(403);
          assertThat(refused.body()).isEqualTo("not an operator\n");
          assertThat(refused).hasMessageContaining("403").hasMessageContaining("not an operator");
        });

    Future<ProtocolClient.Answer> a = background.submit(
        () -> ProtocolClient.answer(server.uri(), Map.of()));
    server.accept().refuse(401, "token missing\n").close();
    assertThat(a.get(10, TimeUnit.SECONDS).status()).isEqualTo(401);
    assertThat(a.get().body()).isEqualTo("token missing\n");
    assertThat(a.get().head()).startsWith("HTTP/1.1 401 ").contains("Content-Type: text/plain");

    Future<Integer> none = background.submit(() -> ProtocolClient.status(server.uri(), Map.of()));
    server.accept().close(); // closed without a word, as Tyrus refuses
    assertThat(none.get(10, TimeUnit.SECONDS)).isEqualTo(ProtocolClient.NO_RESPONSE);
  }

  @Test
  void anAcceptThatDoesNotMatchTheKeyIsNoUpgrade() throws Exception {
    Future<ProtocolClient> c = background.submit(() -> ProtocolClient.connect(server.uri()));
    server.accept().answer("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
        + "Connection: Upgrade\r\nSec-WebSocket-Accept: c29tZXRoaW5nIGVsc2U=\r\n\r\n");
    assertThatThrownBy(() -> c.get(10, TimeUnit.SECONDS))
        .hasMessageContaining("Sec-WebSocket-Accept does not match");
  }

  @Test
  void everyFrameIsRecordedBatchesAreUnpackedAndATestTakesThemInOrder() throws Exception {
    List<ProtocolClient> cs = new ArrayList<>();
    ScriptedServer.Peer peer = connect(cs);
    ProtocolClient c = cs.get(0);
    c.send("{\"type\":\"subscribe\"}");
    assertThat(peer.nextText()).isEqualTo("{\"type\":\"subscribe\"}");
    peer.sendText("{\"type\":\"subscribed\",\"recovered\":false,\"missed\":0}")
        .sendText("{\"type\":\"event\",\"id\":\"e:1\",\"data\":{\"merchantId\":\"m1\"}}")
        .sendText("{\"type\":\"batch\",\"events\":[{\"type\":\"event\",\"id\":\"e:2\","
            + "\"data\":{\"merchantId\":\"m2\"}},{\"type\":\"event\",\"id\":\"e:3\",\"data\":{}}]}")
        .sendText("not json")
        .sendText("{\"type\":\"dropped\",\"count\":2}");
    assertThat(c.nextOfType("subscribed").get("recovered").getAsBoolean()).isFalse();
    assertThat(c.nextOfType("dropped").get("count").getAsInt()).isEqualTo(2); // skips the rest
    c.assertExhausted();
    assertThat(c.eventIds()).containsExactly("e:1", "e:2", "e:3");
    assertThat(c.dataValues("merchantId")).containsExactly("m1", "m2");
    assertThat(c.messages()).hasSize(4);
    assertThat(c.texts()).hasSize(5).contains("not json");
    assertThat(c.sawFrame("\"batch\"")).isTrue();

    peer.sendText("{\"type\":\"event\",\"id\":\"e:4\",\"data\":{}}");
    await().until(() -> c.eventIds().size() == 4);
    assertThatThrownBy(c::assertExhausted).hasMessageContaining("e:4");
    assertThat(c.nextFrame().text()).contains("e:4");
    c.assertExhausted();
  }

  @Test
  void aMessageArrivesWholeWhateverFramesAndWritesItCameIn() throws Exception {
    List<ProtocolClient> cs = new ArrayList<>();
    ScriptedServer.Peer peer = connect(cs);
    byte[] first = FrameCodec.frame(FrameCodec.TEXT).fin(false).unmasked()
        .payload(utf8("{\"type\":\"event\",")).encode();
    byte[] ping = ScriptedServer.Peer.serverFrame(FrameCodec.PING, utf8("between"));
    byte[] last = FrameCodec.frame(FrameCodec.CONTINUATION).unmasked()
        .payload(utf8("\"id\":\"e:1\",\"data\":{}}")).encode();
    byte[] all = new byte[first.length + ping.length + last.length];
    System.arraycopy(first, 0, all, 0, first.length);
    System.arraycopy(ping, 0, all, first.length, ping.length);
    System.arraycopy(last, 0, all, first.length + ping.length, last.length);
    peer.send(Arrays.copyOfRange(all, 0, 1), Arrays.copyOfRange(all, 1, 9),
        Arrays.copyOfRange(all, 9, all.length));
    assertThat(cs.get(0).nextOfType("event").get("id").getAsString()).isEqualTo("e:1");
    Frame pong = peer.nextFrame();
    assertThat(pong.opcode()).isEqualTo(FrameCodec.PONG);
    assertThat(pong.text()).isEqualTo("between");
    cs.get(0).assertExhausted(); // an answered ping is not recorded
  }

  @Test
  void aClientToldNotToAnswerRecordsPingsAndLeavesThemUnanswered() throws Exception {
    List<ProtocolClient> cs = new ArrayList<>();
    ScriptedServer.Peer peer = connect(() -> ProtocolClient.builder(server.uri())
        .answering(false).connect(), cs);
    ProtocolClient c = cs.get(0);
    peer.send(ScriptedServer.Peer.serverFrame(FrameCodec.PING, utf8("are you there")));
    Frame ping = c.nextFrame();
    assertThat(ping.opcode()).isEqualTo(FrameCodec.PING);
    assertThat(ping.text()).isEqualTo("are you there");
    c.send("after the ping");
    assertThat(peer.nextText()).as("no pong before it").isEqualTo("after the ping");
    peer.sendClose(4001, "heartbeat timeout");
    assertThat(c.awaitClose()).isEqualTo(4001);
    assertThat(c.nextFrame().closeReason()).isEqualTo("heartbeat timeout");
    assertThat(peer.clientClosed()).as("no close frame sent back, the TCP connection open")
        .isFalse();
    peer.close();
    await().until(c::serverClosed);
  }

  @Test
  void aServersCloseIsAnsweredAndItsCodeAndReasonKept() throws Exception {
    List<ProtocolClient> cs = new ArrayList<>();
    ScriptedServer.Peer peer = connect(cs);
    ProtocolClient c = cs.get(0);
    assertThat(c.isOpen()).isTrue();
    peer.sendClose(1013, "outbox full");
    assertThat(c.awaitClose()).isEqualTo(1013);
    assertThat(c.closeReason()).isEqualTo("outbox full");
    Frame echo = peer.nextFrame();
    assertThat(echo.closeCode()).isEqualTo(1013);
    assertThat(c.serverClosed()).isFalse();
    peer.close();
    await().until(c::serverClosed);
    assertThat(c.nextFrame().closeCode()).isEqualTo(1013);
    assertThat(c.nextFrame()).as("the end").isNull();
    assertThat(c.nextFrame()).as("still the end").isNull();
    c.assertExhausted();
  }

  @Test
  void closingSendsACloseFrameThenDropsTheConnection() throws Exception {
    List<ProtocolClient> cs = new ArrayList<>();
    ScriptedServer.Peer peer = connect(cs);
    cs.get(0).close();
    Frame close = peer.nextFrame();
    assertThat(close.closeCode()).isEqualTo(1000);
    assertThat(peer.nextFrame()).isNull();
    assertThat(cs.get(0).closed()).isDone();
    assertThat(cs.get(0).trySend("late")).isFalse();
  }

  @Test
  void framesNoClientLibraryWouldSendGoOutAsBuilt() throws Exception {
    List<ProtocolClient> cs = new ArrayList<>();
    ScriptedServer.Peer peer = connect(cs);
    byte[] text = FrameCodec.text("split in three");
    cs.get(0).sendRaw(Arrays.copyOfRange(text, 0, 1), Arrays.copyOfRange(text, 1, 4),
        Arrays.copyOfRange(text, 4, text.length));
    assertThat(peer.nextText()).isEqualTo("split in three");
    cs.get(0).sendRaw(FrameCodec.frame(FrameCodec.TEXT).rsv1().payload(new byte[] {1}).encode());
    assertThat(peer.nextFrame().compressed()).isTrue();
    cs.get(0).sendRaw(FrameCodec.frame(FrameCodec.TEXT).unmasked().payload(utf8("x")).encode());
    assertThatThrownBy(peer::nextFrame).isInstanceOf(FrameCodec.MalformedFrameException.class)
        .hasMessageContaining("must be masked");
  }

  @Test
  void aServerFrameThatBreaksTheRfcEndsTheConnectionAndFailsTheCheck() throws Exception {
    List<ProtocolClient> cs = new ArrayList<>();
    ScriptedServer.Peer peer = connect(cs);
    peer.send(FrameCodec.text("masked, as a server must not"));
    assertThat(cs.get(0).awaitClose()).isEqualTo(ProtocolClient.ABNORMAL_CLOSURE);
    assertThatThrownBy(cs.get(0)::assertExhausted).hasMessageContaining("must not be masked");
  }

  @Test
  void aStalledClientReadsOnlyOnceResumed() throws Exception {
    List<ProtocolClient> cs = new ArrayList<>();
    ScriptedServer.Peer peer = connect(() -> ProtocolClient.builder(server.uri())
        .reading(false).connect(), cs);
    ProtocolClient c = cs.get(0);
    peer.sendText("{\"type\":\"event\",\"id\":\"e:1\",\"data\":{}}").close();
    assertThat(c.isOpen()).as("the end of the stream not read yet").isTrue();
    assertThat(c.events()).isEmpty();
    c.resume();
    assertThat(c.awaitClose()).isEqualTo(ProtocolClient.ABNORMAL_CLOSURE);
    assertThat(c.eventIds()).containsExactly("e:1");
  }

  @Test
  void aListenerSeesEveryMessageInOrderAndTheCloseWhetherOrNotTheClientRecords()
      throws Exception {
    List<String> seen = new CopyOnWriteArrayList<>();
    CompletableFuture<Integer> closedWith = new CompletableFuture<>();
    List<ProtocolClient> cs = new ArrayList<>();
    ScriptedServer.Peer peer = connect(() -> ProtocolClient.builder(server.uri())
        .recording(false)
        .onMessage(m -> seen.add(m.get("type").getAsString()))
        .onClose(closedWith::complete).connect(), cs);
    peer.sendText("{\"type\":\"subscribed\",\"recovered\":false}")
        .sendText("{\"type\":\"event\",\"id\":\"e:1\",\"data\":{}}")
        .sendClose(1001, "server shutting down");
    assertThat(closedWith.get(10, TimeUnit.SECONDS)).isEqualTo(1001);
    assertThat(seen).containsExactly("subscribed", "event");
    assertThat(cs.get(0).events()).isEmpty();
    assertThat(cs.get(0).nextFrame()).as("nothing recorded").isNull();
  }

  @Test
  void aListenerThatThrowsDropsTheConnectionAndFailsTheCheck() throws Exception {
    List<ProtocolClient> cs = new ArrayList<>();
    ScriptedServer.Peer peer = connect(() -> ProtocolClient.builder(server.uri())
        .onMessage(m -> {
          throw new IllegalStateException("a bug in the handler");
        }).connect(), cs);
    peer.sendText("{\"type\":\"subscribed\"}");
    assertThat(cs.get(0).awaitClose()).isEqualTo(ProtocolClient.ABNORMAL_CLOSURE);
    assertThatThrownBy(cs.get(0)::assertExhausted).hasMessageContaining("a bug in the handler");
    await().until(peer::clientClosed);
  }

  @Test
  void onlyWsUrisWithAHostAndAPort() {
    assertThatThrownBy(() -> ProtocolClient.builder(URI.create("wss://127.0.0.1:8443/ws")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("ws://");
    assertThatThrownBy(() -> ProtocolClient.builder(URI.create("ws://127.0.0.1/ws")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("port");
  }

  @Test
  void aFrameSaysWhatItIs() {
    Frame close = new Frame(FrameCodec.CLOSE, false, new byte[] {0x03, (byte) 0xF1, 'o', 'k'});
    assertThat(close.closeCode()).isEqualTo(1009);
    assertThat(close.closeReason()).isEqualTo("ok");
    assertThat(new Frame(FrameCodec.CLOSE, false, new byte[0]).closeCode())
        .isEqualTo(Frame.NO_STATUS);
    assertThat(new Frame(FrameCodec.TEXT, false, utf8("{}")).toString()).isEqualTo("text: {}");
  }
}
