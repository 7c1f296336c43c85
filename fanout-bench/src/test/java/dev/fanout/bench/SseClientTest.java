package dev.fanout.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fanout.example.EmbeddedFeed;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The load generator's Server-Sent Events client, against the example server (embedded, in this
 * process) on both of its transports, beside the WebSocket client: the same events counted
 * exactly, once each, and a dropped stream resumed by Last-Event-ID; and its reading of a stream
 * that comes a byte at a time, with every line ending the format allows.
 */
class SseClientTest {
  private static final Duration WAIT = Duration.ofSeconds(20);
  private final List<AutoCloseable> open = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    for (int i = open.size() - 1; i >= 0; i--) {
      open.get(i).close();
    }
  }

  private EmbeddedFeed feed(String transport) throws Exception {
    EmbeddedFeed f = EmbeddedFeed.start(transport);
    open.add(f);
    return f;
  }

  private static String payload(String merchant) {
    return "{\"merchantId\":\"" + merchant + "\",\"publishedAtMicros\":" + Tally.nowMicros() + "}";
  }

  @ParameterizedTest(name = "{1} on {0}")
  @CsvSource({"netty, SSE", "jetty, SSE", "netty, WEBSOCKET", "jetty, WEBSOCKET"})
  void everyDeliveryIsCountedOnceWhateverTheTransport(String server, Clients.Transport transport)
      throws Exception {
    EmbeddedFeed f = feed(server);
    f.publish("bench_seed", "{}"); // the stream exists, as Load makes sure
    int clients = 30;
    int merchants = 4;
    double ops = 0.1; // clients 0, 10 and 20 follow every merchant
    URI url = URI.create(transport == Clients.Transport.SSE
        ? "http://127.0.0.1:" + f.port() + "/events" : "ws://127.0.0.1:" + f.port() + "/ws");
    LocalClients all = new LocalClients(url, 0, clients, merchants, ops, 2,
        new Clients.Mode(false, true, transport));
    open.add(all);
    all.connect();
    assertThat(f.connections()).isEqualTo(clients);
    all.window(1, Long.MAX_VALUE); // not the seed, which has no publish time
    int[] followers = new int[merchants];
    int everything = 0;
    for (int i = 0; i < clients; i++) {
      String m = Clients.merchantOf(i, merchants, ops);
      if (m == null) {
        everything++;
      } else {
        followers[i % merchants]++;
      }
    }
    long expected = 0;
    for (int e = 0; e < 200; e++) {
      int m = e % merchants;
      f.publish("mch_" + m, payload("mch_" + m));
      expected += followers[m] + everything;
    }
    long want = expected;
    await().atMost(WAIT).until(() -> all.seen().received() >= want);
    // and nothing more comes: the count stays there
    await().during(Duration.ofMillis(300)).atMost(WAIT)
        .until(() -> all.seen().received() == want);
    Clients.Seen seen = all.seen();
    assertThat(seen.received()).isEqualTo(expected);
    assertThat(seen.duplicates()).isZero();
    assertThat(seen.orderViolations()).isZero();
    assertThat(seen.retries()).isZero();
    assertThat(seen.closes()).isEmpty();
    assertThat(seen.latency().getTotalCount()).isEqualTo(expected);
  }

  @ParameterizedTest(name = "on {0}")
  @CsvSource({"netty", "jetty"})
  void aDroppedStreamComesBackWithLastEventIdAndMissesNothing(String server) throws Exception {
    EmbeddedFeed f = feed(server);
    f.publish("bench_seed", "{}");
    Tally tally = new Tally();
    tally.windowStartMicros = 1;
    LeanSockets io = new LeanSockets("sse-test-io");
    open.add(io);
    SseClient c = new SseClient(io, URI.create("http://127.0.0.1:" + f.port() + "/events"),
        "mch_1", tally);
    open.add(c::drop);
    c.connect().get(WAIT.toSeconds(), TimeUnit.SECONDS);
    assertThat(c.subscribed.get(WAIT.toSeconds(), TimeUnit.SECONDS)).isFalse();
    String last = null;
    for (int i = 0; i < 5; i++) {
      last = f.publish("mch_1", payload("mch_1"));
      f.publish("mch_2", payload("mch_2")); // not followed
    }
    String fifth = last;
    await().atMost(WAIT).until(() -> fifth.equals(c.resumeFrom()));
    c.drop(); // Jetty notices at its next write: one of these
    for (int i = 0; i < 3; i++) {
      last = f.publish("mch_1", payload("mch_1")); // while it is away
    }

    c.connect().get(WAIT.toSeconds(), TimeUnit.SECONDS);
    assertThat(c.subscribed.get(WAIT.toSeconds(), TimeUnit.SECONDS)).as("recovered").isTrue();
    for (int i = 0; i < 2; i++) {
      last = f.publish("mch_1", payload("mch_1"));
    }
    String tenth = last;
    await().atMost(WAIT).until(() -> tenth.equals(c.resumeFrom()));
    assertThat(tally.received.sum()).isEqualTo(10);
    assertThat(tally.duplicates.sum()).isZero();
    assertThat(tally.orderViolations.sum()).isZero();
  }

  @Test
  void aStreamIsReadWhateverPiecesItComesInAndAnEndedStreamIsLost() throws Exception {
    String body = ": hello\n\nretry: 2000\n\n"
        + "event: subscribed\r\nid: e:3\r\ndata: {\"type\":\"subscribed\",\"recovered\":false,"
        + "\"replay\":0,\"position\":\"e:3\"}\r\n\r\n"
        + "event: event\rid: e:4\rdata: {\"type\":\"event\",\"id\":\"e:4\",\r"
        + "data: \"data\":{\"publishedAtMicros\":1}}\r\r"
        + ":heartbeat\n\n"
        + "event: event\nid: e:5\ndata:{\"type\":\"event\",\"id\":\"e:5\",\"data\":{}}\nunknown\n\n"
        + "id: e:9\n\n"; // a resume point without data: it counts
    StringBuilder chunked = new StringBuilder();
    for (int at = 0; at < body.length(); at += 37) {
      String piece = body.substring(at, Math.min(body.length(), at + 37));
      chunked.append(Integer.toHexString(piece.length())).append(at == 0 ? ";ext=1" : "")
          .append("\r\n").append(piece).append("\r\n");
    }
    chunked.append("0\r\n\r\n");
    byte[] answer = ("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
        + "Transfer-Encoding: chunked\r\n\r\n" + chunked).getBytes(StandardCharsets.UTF_8);
    try (ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      Tally tally = new Tally();
      tally.windowStartMicros = 0;
      LeanSockets io = new LeanSockets("sse-test-io");
      open.add(io);
      SseClient c = new SseClient(io,
          URI.create("http://127.0.0.1:" + listener.getLocalPort() + "/events?x=1"), "mch_1",
          tally);
      open.add(c::drop);
      CompletableFuture<Boolean> lost = new CompletableFuture<>();
      c.onLost = () -> lost.complete(true);
      CompletableFuture<Void> opened = c.connect();
      String request;
      try (Socket s = listener.accept()) {
        request = readHead(s.getInputStream());
        OutputStream out = s.getOutputStream();
        for (byte b : answer) { // a byte at a time
          out.write(b);
          out.flush();
        }
        opened.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(lost.get(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
      }
      assertThat(request).startsWith("GET /events?x=1&merchants=mch_1 HTTP/1.1\r\n")
          .contains("Accept: text/event-stream\r\n").doesNotContain("Last-Event-ID");
      assertThat(tally.received.sum()).isEqualTo(2);
      assertThat(c.lastSeq).isEqualTo(5);
      assertThat(c.resumeFrom()).isEqualTo("e:9");
      assertThat(tally.closes).containsOnlyKeys(1000);

      c.connect();
      try (Socket s = listener.accept()) {
        assertThat(readHead(s.getInputStream())).contains("Last-Event-ID: e:9\r\n");
      }
    }
  }

  private static String readHead(InputStream in) throws Exception {
    StringBuilder head = new StringBuilder();
    while (!head.toString().endsWith("\r\n\r\n")) {
      int b = in.read();
      if (b < 0) {
        break;
      }
      head.append((char) b);
    }
    return head.toString();
  }
}
