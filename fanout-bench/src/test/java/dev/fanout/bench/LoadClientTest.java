package dev.fanout.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.fanout.client.FrameCodec;
import dev.fanout.client.ScriptedServer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The load generator's client against a scripted server on loopback: what it subscribes and
 * resumes with, by the clients' one rule, and how it reads frames however they come.
 */
class LoadClientTest {
  private static final Duration WAIT = Duration.ofSeconds(10);

  private ScriptedServer server;
  private LeanSockets io;
  private LoadClient client;

  @BeforeEach
  void start() throws Exception {
    server = ScriptedServer.start();
    io = new LeanSockets("load-io-test");
    client = new LoadClient(io, server.uri(), "mch_1", new Tally(), false);
  }

  @AfterEach
  void stop() throws Exception {
    client.drop();
    io.close();
    server.close();
  }

  /** Connects the client, upgrades it, and returns its subscribe. */
  private JsonObject connect(ScriptedServer.Peer[] peer) throws Exception {
    CompletableFuture<Void> opened = client.connect();
    peer[0] = server.accept().upgrade();
    opened.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    return JsonParser.parseString(peer[0].nextText()).getAsJsonObject();
  }

  private static String event(String id) {
    return "{\"type\":\"event\",\"id\":\"" + id + "\",\"data\":{\"merchantId\":\"mch_1\"}}";
  }

  @Test
  void acrossEpochsItResumesFromTheLastEventItReceivedNotFromTheServersPosition()
      throws Exception {
    ScriptedServer.Peer[] peer = new ScriptedServer.Peer[1];
    JsonObject first = connect(peer);
    assertThat(first.has("lastEventId")).as(first.toString()).isFalse();
    peer[0].sendText("{\"type\":\"subscribed\",\"recovered\":false,\"missed\":0,\"replay\":0}")
        .sendText(event("a:500"));
    assertThat(client.subscribed.get(WAIT.toSeconds(), TimeUnit.SECONDS)).isFalse();
    awaitResumeFrom("a:500");
    peer[0].close(); // a failover: the client comes back on a node that lagged behind

    JsonObject second = connect(peer);
    assertThat(second.get("lastEventId").getAsString()).isEqualTo("a:500");
    peer[0].sendText("{\"type\":\"subscribed\",\"recovered\":true,\"missed\":0,\"replay\":0,"
        + "\"position\":\"b:495\"}"); // its newer epoch's position is older than a:500
    assertThat(client.subscribed.get(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
    peer[0].close();

    JsonObject third = connect(peer);
    assertThat(third.get("lastEventId").getAsString())
        .as("resuming from b:495 would replay events twice").isEqualTo("a:500");
  }

  @Test
  void withinOneEpochItResumesFromTheNewerPositionOnceItsReplayArrived() throws Exception {
    ScriptedServer.Peer[] peer = new ScriptedServer.Peer[1];
    connect(peer);
    peer[0].sendText("{\"type\":\"subscribed\",\"recovered\":false,\"missed\":0,\"replay\":2,"
        + "\"position\":\"e:50\"}").sendText(event("e:10"));
    client.subscribed.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    awaitResumeFrom("e:10"); // the snapshot's second event has not come: not e:50 yet
    peer[0].sendText(event("e:20"));
    awaitResumeFrom("e:50");
    peer[0].close();
    assertThat(connect(peer).get("lastEventId").getAsString()).isEqualTo("e:50");
  }

  @Test
  void framesAreReadWhateverPiecesTheyComeInAndPingsAnswered() throws Exception {
    ScriptedServer.Peer[] peer = new ScriptedServer.Peer[1];
    connect(peer);
    byte[] subscribed = ScriptedServer.Peer.serverFrame(FrameCodec.TEXT,
        ascii("{\"type\":\"subscribed\",\"recovered\":false,\"replay\":0}"));
    byte[] first = FrameCodec.frame(FrameCodec.TEXT).fin(false).unmasked()
        .payload(ascii("{\"type\":\"event\",\"id\":\"e:7")).encode();
    byte[] ping = ScriptedServer.Peer.serverFrame(FrameCodec.PING, ascii("p"));
    byte[] last = FrameCodec.frame(FrameCodec.CONTINUATION).unmasked()
        .payload(ascii("\",\"data\":{}}")).encode();
    byte[] all = join(subscribed, first, ping, last);
    for (int i = 0; i < all.length; i++) {
      peer[0].send(new byte[] {all[i]}); // a byte at a time
    }
    assertThat(peer[0].nextFrame().opcode()).isEqualTo(FrameCodec.PONG);
    awaitResumeFrom("e:7");
    assertThat(client.lastSeq).isEqualTo(7);
  }

  @Test
  void onAPartitionedStreamOrderAndDuplicatesCountPerPartitionAndItResumesFromEach()
      throws Exception {
    Tally tally = new Tally();
    tally.windowStartMicros = 0;
    client.drop();
    client = new LoadClient(io, server.uri(), "mch_1", tally, false);
    ScriptedServer.Peer[] peer = new ScriptedServer.Peer[1];
    connect(peer);
    peer[0].sendText("{\"type\":\"subscribed\",\"recovered\":false,\"missed\":0,\"replay\":0,"
        + "\"position\":\"0.a:4,3.d:1\"}");
    for (String id : new String[] {"0.a:5", "3.d:2", "0.a:6", "3.d:3"}) {
      peer[0].sendText(stamped(id));
    }
    awaitResumeFrom("0.a:6,3.d:3");
    peer[0].close();

    assertThat(connect(peer).get("lastEventId").getAsString()).isEqualTo("0.a:6,3.d:3");
    peer[0].sendText("{\"type\":\"subscribed\",\"recovered\":true,\"missed\":0,\"replay\":0}")
        .sendText(stamped("3.d:3")).sendText(stamped("0.a:4"));
    await().atMost(WAIT).until(() -> tally.received.sum() + tally.duplicates.sum()
        + tally.orderViolations.sum() == 6);
    assertThat(tally.received.sum()).as("interleaved partitions are in order").isEqualTo(4);
    assertThat(tally.duplicates.sum()).isEqualTo(1);
    assertThat(tally.orderViolations.sum()).isEqualTo(1);
  }

  private static String stamped(String id) {
    return "{\"type\":\"event\",\"id\":\"" + id + "\",\"data\":{\"merchantId\":\"mch_1\","
        + "\"publishedAtMicros\":1}}";
  }

  private void awaitResumeFrom(String id) {
    await().atMost(WAIT).until(() -> id.equals(client.resumeFrom()));
  }

  private static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }

  private static byte[] join(byte[]... parts) {
    int n = 0;
    for (byte[] p : parts) {
      n += p.length;
    }
    byte[] all = new byte[n];
    int at = 0;
    for (byte[] p : parts) {
      System.arraycopy(p, 0, all, at, p.length);
      at += p.length;
    }
    return all;
  }
}
