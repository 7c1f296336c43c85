package dev.fanout.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@link SseClient} against the JDK's HTTP server writing scripted streams. */
class SseClientTest {
  private static final Duration WAIT = Duration.ofSeconds(10);
  private HttpServer server;
  private final BlockingQueue<String> lastEventIds = new LinkedBlockingQueue<>();
  private final CountDownLatch clientGone = new CountDownLatch(1);

  @AfterEach
  void stop() {
    if (server != null) {
      server.stop(0);
    }
  }

  private URI serve(String path, Handler handler) throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext(path, exchange -> {
      lastEventIds.add(String.valueOf(exchange.getRequestHeaders().getFirst("Last-Event-ID")));
      try {
        handler.handle(exchange);
      } finally {
        exchange.close();
      }
    });
    server.start();
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + path);
  }

  private interface Handler {
    void handle(HttpExchange exchange) throws IOException;
  }

  /** Writes each part as its own chunk (flushed), so parts split lines and characters. */
  private static Handler stream(byte[]... parts) {
    return exchange -> {
      exchange.getResponseHeaders().set("Content-Type", "text/event-stream");
      exchange.sendResponseHeaders(200, 0);
      OutputStream out = exchange.getResponseBody();
      for (byte[] p : parts) {
        out.write(p);
        out.flush();
      }
      out.close();
    };
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void parsesEventsIdsCommentsAndRetryAsAnEventSourceDoes() throws Exception {
    byte[] euro = utf8("\u20ac");
    URI uri = serve("/events", stream(
        utf8("retry: 1500\n:\n\n"),
        utf8("event: subscribed\ndata: {\"type\":\"subscribed\"}\n\n"),
        utf8("event: event\nid: e:1\ndata: {\"type\":\"event\",\"id\":\"e:1\",\r\ndata:\"data\""
            + ":\"a"),
        new byte[] {euro[0]}, // a character split between two chunks
        new byte[] {euro[1], euro[2]},
        utf8("\"}\r"), // CR LF split between two chunks
        utf8("\n\r\n"),
        utf8(": heartbeat\n\nid: e:1,p:2\n\n"), // an id without data moves the id only
        utf8("event: subscribed\nid\ndata:{\"type\":\"subscribed\",\"recovered\":false}\n\n"),
        utf8("data: no type\nfield: ignored\n\nevent: event\ndata: unterminated")));
    SseClient c = SseClient.open(uri);
    assertThat(c.status()).isEqualTo(200);
    assertThat(c.header("content-type")).isEqualTo("text/event-stream");
    c.awaitEnd(WAIT);
    assertThat(c.failure()).isNull();
    List<SseClient.Event> events = c.awaitEvents(4, WAIT);
    assertThat(events).containsExactly(
        new SseClient.Event("subscribed", null, "{\"type\":\"subscribed\"}"),
        new SseClient.Event("event", "e:1",
            "{\"type\":\"event\",\"id\":\"e:1\",\n\"data\":\"a\u20ac\"}"),
        new SseClient.Event("subscribed", "", "{\"type\":\"subscribed\",\"recovered\":false}"),
        new SseClient.Event("message", null, "no type"));
    assertThat(events.get(1).json().get("data").getAsString()).isEqualTo("a\u20ac");
    assertThat(c.eventIds()).containsExactly("e:1");
    assertThat(c.events("subscribed")).hasSize(2);
    assertThat(c.eventCount()).isEqualTo(4);
    assertThat(c.comments()).isEqualTo(2);
    assertThat(c.retry()).isEqualTo(1500);
    assertThat(c.lastEventId()).as("the empty id line cleared it").isEmpty();
    assertThat(c.text()).startsWith("retry: 1500\n:\n\n").endsWith("data: unterminated")
        .contains("\r\n\r\n");
  }

  @Test
  void theLastEventIdIsTheLastIdFieldAndReconnectSendsIt() throws Exception {
    URI uri = serve("/events", stream(utf8(
        "event: event\nid: a:1\ndata: {\"type\":\"event\",\"id\":\"a:1\"}\n\nid: a:2\n\n")));
    SseClient c = SseClient.builder(uri).header("Origin", "https://ops.example.com").open();
    c.awaitEnd(WAIT);
    assertThat(lastEventIds.take()).isEqualTo("null");
    assertThat(c.lastEventId()).isEqualTo("a:2");
    SseClient again = c.reconnect();
    again.awaitEnd(WAIT);
    assertThat(lastEventIds.take()).isEqualTo("a:2");
    assertThat(again.uri()).isEqualTo(uri);
  }

  @Test
  void aRefusalIsRecordedWithItsStatusAndBody() throws Exception {
    URI uri = serve("/events", exchange -> {
      byte[] body = utf8("{\"accepted\":false,\"status\":400,\"reason\":\"x\"}");
      exchange.getResponseHeaders().set("Content-Type", "application/json");
      exchange.sendResponseHeaders(400, body.length);
      exchange.getResponseBody().write(body);
    });
    SseClient c = SseClient.open(uri, Map.of("Last-Event-ID", "x"));
    assertThat(c.status()).isEqualTo(400);
    c.awaitEnd(WAIT);
    assertThat(c.text()).isEqualTo("{\"accepted\":false,\"status\":400,\"reason\":\"x\"}");
    assertThat(c.events()).isEmpty();
    assertThat(lastEventIds.take()).isEqualTo("x");
  }

  @Test
  void awaitingTooLongFailsWithWhatArrivedAndCloseEndsTheConnection() throws Exception {
    URI uri = serve("/events", exchange -> {
      exchange.sendResponseHeaders(200, 0);
      OutputStream out = exchange.getResponseBody();
      try {
        while (true) { // a heartbeat until the client is gone
          out.write(utf8(":\n\n"));
          out.flush();
          LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
        }
      } catch (IOException gone) {
        clientGone.countDown();
      }
    });
    SseClient c = SseClient.open(uri);
    c.awaitComments(2, WAIT);
    assertThatThrownBy(() -> c.awaitEvents(1, Duration.ofMillis(100)))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("no 1 events")
        .hasMessageContaining(":\n\n");
    assertThat(c.ended()).isFalse();
    c.close();
    assertThat(c.ended()).isTrue();
    assertThat(clientGone.await(10, TimeUnit.SECONDS)).as("the server saw the client go")
        .isTrue();
  }
}
