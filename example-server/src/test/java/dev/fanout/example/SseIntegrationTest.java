package dev.fanout.example;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.fanout.core.EventId;
import dev.fanout.jwt.TokenSources;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Protocol v1 as Server-Sent Events on the example server, over real HTTP (the JDK's client
 * streaming the body): the subscription from the query, events with their ids, exact resume by
 * {@code Last-Event-ID}, {@code recovered:false} with a snapshot, refusals with a JSON body, and
 * the heartbeat. {@link NettySseIntegrationTest} runs it on the Netty transport.
 */
class SseIntegrationTest {
  private static final Duration WAIT = Duration.ofSeconds(10);
  private final List<AutoCloseable> open = new ArrayList<>();

  String transport() {
    return "jetty";
  }

  @AfterEach
  void closeAll() throws Exception {
    for (int i = open.size() - 1; i >= 0; i--) {
      open.get(i).close();
    }
  }

  private FeedServer server(Consumer<FeedServer.Config> settings) throws Exception {
    FeedServer.Config c = new FeedServer.Config();
    c.port = 0;
    c.generator = false;
    c.shutdownSpread = Duration.ZERO;
    c.transport = transport();
    // Jetty notices a client that left at the next write: a heartbeat comment at the latest
    c.heartbeatInterval = Duration.ofMillis(200);
    c.heartbeatTimeout = Duration.ofSeconds(5);
    settings.accept(c);
    FeedServer s = FeedServer.start(c);
    open.add(s);
    return s;
  }

  private FeedServer server() throws Exception {
    return server(c -> { });
  }

  private Stream open(FeedServer s, String query, String... headers) throws Exception {
    Stream st = new Stream(URI.create("http://127.0.0.1:" + s.port() + "/events" + query),
        headers);
    open.add(st);
    return st;
  }

  private static String publish(FeedServer s, String merchant, String method) {
    EventId id = s.node().publish(merchant, Map.of("method", method),
        "{\"merchantId\":\"" + merchant + "\",\"method\":\"" + method + "\"}");
    return id.toString();
  }

  @Test
  void subscribesFromTheQueryAndStreamsEventsWithTheirIds() throws Exception {
    FeedServer s = server();
    Stream st = open(s, "?topics=mch_1,mch_2&filter.method=card");
    assertThat(st.response.statusCode()).isEqualTo(200);
    assertThat(st.response.headers().firstValue("Content-Type").orElse(""))
        .startsWith("text/event-stream");
    assertThat(st.response.headers().firstValue("Cache-Control")).hasValue("no-store");
    assertThat(st.response.headers().firstValue("X-Accel-Buffering")).hasValue("no");
    Sse subscribed = st.first(1).get(0);
    assertThat(subscribed.event).isEqualTo("subscribed");
    assertThat(json(subscribed).get("recovered").getAsBoolean()).isFalse();
    List<String> ids = new ArrayList<>();
    ids.add(publish(s, "mch_1", "card"));
    publish(s, "mch_1", "wallet");
    publish(s, "mch_3", "card");
    ids.add(publish(s, "mch_2", "card"));
    ids.add(publish(s, "mch_1", "card"));
    List<Sse> events = st.awaitEvents(3);
    assertThat(events).extracting(e -> e.id).containsExactlyElementsOf(ids);
    assertThat(json(events.get(1)).get("type").getAsString()).isEqualTo("event");
    assertThat(json(events.get(1)).getAsJsonObject("data").get("merchantId").getAsString())
        .isEqualTo("mch_2");
    assertThat(st.raw).contains("retry: ");

    Stream aliases = open(s, "?merchants=mch_4&methods=card");
    aliases.first(1);
    String id = publish(s, "mch_4", "card");
    publish(s, "mch_4", "wallet");
    String last = publish(s, "mch_4", "card");
    assertThat(aliases.awaitEvents(2)).extracting(e -> e.id).containsExactly(id, last);
  }

  @Test
  void aDroppedStreamResumesWithLastEventIdExactly() throws Exception {
    FeedServer s = server();
    Stream first = open(s, "?topics=mch_1");
    first.first(1);
    for (int i = 0; i < 3; i++) {
      publish(s, "mch_1", "card");
    }
    String seen = first.awaitEvents(3).get(2).id;
    first.close();
    await().atMost(WAIT).until(() -> s.node().status().connections() == 0);
    List<String> missed = List.of(publish(s, "mch_1", "card"), publish(s, "mch_1", "wallet"));
    publish(s, "mch_2", "card"); // not subscribed

    Stream back = open(s, "?topics=mch_1", "Last-Event-ID", seen);
    JsonObject subscribed = json(back.first(1).get(0));
    assertThat(subscribed.get("recovered").getAsBoolean()).isTrue();
    assertThat(subscribed.get("missed").getAsInt()).isEqualTo(2);
    String live = publish(s, "mch_1", "card");
    assertThat(back.awaitEvents(3)).extracting(e -> e.id)
        .containsExactly(missed.get(0), missed.get(1), live);

    // the page's first request: the query parameter, when no header says otherwise
    Stream page = open(s, "?topics=mch_1&lastEventId=" + missed.get(1));
    assertThat(json(page.first(1).get(0)).get("missed").getAsInt()).isEqualTo(1);
    assertThat(page.awaitEvents(1).get(0).id).isEqualTo(live);
  }

  @Test
  void anUnknownIdGetsRecoveredFalseAndASnapshot() throws Exception {
    FeedServer s = server();
    List<String> ids = List.of(publish(s, "mch_1", "card"), publish(s, "mch_1", "card"));
    Stream st = open(s, "?topics=mch_1", "Last-Event-ID", "zzzzzz:7");
    Sse subscribed = st.first(1).get(0);
    JsonObject frame = json(subscribed);
    assertThat(frame.get("recovered").getAsBoolean()).isFalse();
    assertThat(frame.get("replay").getAsInt()).isEqualTo(2);
    assertThat(subscribed.id).isEmpty(); // the browser forgets the id it can no longer resume
    assertThat(st.awaitEvents(2)).extracting(e -> e.id).containsExactlyElementsOf(ids);
  }

  @Test
  void aBadQueryGets400WithAJsonBody() throws Exception {
    FeedServer s = server();
    String tooMany = "?filter.method=" + "v,".repeat(33) + "v";
    Map<String, String> cases = Map.of("?lastEventId=nonsense", "bad_request",
        "?topics=a&merchants=b", "bad_request", "?filter.method=card&methods=card",
        "bad_request", tooMany, "too_many", "?" + "x&".repeat(1000) + "x", "too_many");
    for (Map.Entry<String, String> c : cases.entrySet()) {
      String query = c.getKey();
      HttpResponse<String> r = get(s, query);
      assertThat(r.statusCode()).as(query).isEqualTo(400);
      assertThat(r.headers().firstValue("Content-Type").orElse("")).contains("application/json");
      JsonObject body = JsonParser.parseString(r.body()).getAsJsonObject();
      assertThat(body.get("accepted").getAsBoolean()).isFalse();
      assertThat(body.get("status").getAsInt()).isEqualTo(400);
      assertThat(body.get("code").getAsString()).as(query).isEqualTo(c.getValue());
      assertThat(body.get("reason").getAsString()).isNotBlank();
    }
    for (String target : List.of("/events?topics=%zz", "/events?topics=a|b%")) {
      try (Socket raw = new Socket("127.0.0.1", s.port())) {
        raw.getOutputStream().write(("GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + "Connection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        String answer = new String(raw.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(answer).as(target).startsWith("HTTP/1.1 400");
      }
    }
    HttpResponse<String> huge = get(s, "?topics=mch_1", "Last-Event-ID", "a".repeat(5000) + ":1");
    assertThat(huge.statusCode()).isEqualTo(400);
    assertThat(huge.body()).contains("\"code\":\"bad_request\"", "larger than 4096 bytes");
    HttpResponse<String> longer = get(s, "?topics=mch_1", "Last-Event-ID", "a".repeat(100) + ":1");
    assertThat(longer.body()).contains("\"status\":400", "lastEventId: event id");
    assertThat(s.node().status().connections()).isZero();
  }

  @Test
  void aHostileOriginIsRefused() throws Exception {
    FeedServer s = server();
    HttpResponse<String> r = get(s, "?topics=mch_1", "Origin", "https://evil.example");
    assertThat(r.statusCode()).isEqualTo(403);
    assertThat(JsonParser.parseString(r.body()).getAsJsonObject().get("reason").getAsString())
        .isEqualTo("origin not allowed");
    assertThat(s.node().refusedHandshakes()).containsKey("403 origin not allowed");
    Stream own = open(s, "?topics=mch_1", "Origin", "http://localhost:" + s.port());
    assertThat(own.first(1).get(0).event).isEqualTo("subscribed");
  }

  @Test
  void anIdleStreamGetsHeartbeatComments() throws Exception {
    FeedServer s = server(); // a heartbeat every 200 ms
    Stream st = open(s, "?topics=mch_1");
    st.first(1);
    int before = st.comments.size();
    await().atMost(WAIT).until(() -> st.comments.size() >= before + 3);
    assertThat(s.node().status().connections()).isEqualTo(1); // still open: written is alive
  }

  @Test
  void aReaderThatStopsIsClosedAndTheOthersGetEverything() throws Exception {
    FeedServer s = server();
    Stream reader = open(s, "?topics=mch_1");
    reader.first(1);
    try (Socket stalled = new Socket()) {
      stalled.setReceiveBufferSize(4096);
      stalled.connect(new InetSocketAddress("127.0.0.1", s.port()));
      stalled.getOutputStream().write(("GET /events?topics=mch_1 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
          + "\r\n").getBytes(StandardCharsets.US_ASCII)); // and never reads
      await().atMost(WAIT).until(() -> s.node().status().connections() == 2);
      String payload = "x".repeat(4000);
      List<String> ids = new ArrayList<>();
      for (int i = 0; i < 500; i++) { // 2 MB: far more than the kernel's buffers hold
        ids.add(s.node().publish("mch_1", Map.of("method", "card"),
            "{\"i\":" + i + ",\"pad\":\"" + payload + "\"}").toString());
      }
      // its writes wait past the heartbeat timeout (5 s here): closed, as on WebSocket
      await().atMost(Duration.ofSeconds(20))
          .until(() -> s.node().status().connections() == 1);
      assertThat(reader.awaitEvents(500)).extracting(e -> e.id).containsExactlyElementsOf(ids);
    }
  }

  @Test
  void theTokenDecidesWhatAStreamSeesAndItsExpiryEndsIt() throws Exception {
    FeedServer s = server(c -> c.jwt = TestJwts.authenticator());
    HttpResponse<String> none = get(s, "?topics=mch_1");
    assertThat(none.statusCode()).isEqualTo(401);
    assertThat(none.body()).contains("\"reason\":\"token missing\"");
    String token = TestJwts.mint("ops-1", List.of("mch_1"), Duration.ofMinutes(5));
    HttpResponse<String> outside = get(s, "?topics=mch_2", "Authorization", "Bearer " + token);
    assertThat(outside.statusCode()).isEqualTo(403);
    assertThat(outside.body()).contains("\"code\":\"forbidden\"", "mch_2");
    Stream byCookie = open(s, "", "Cookie", TokenSources.DEFAULT_COOKIE + "=" + token);
    byCookie.first(1);
    publish(s, "mch_2", "card"); // outside the token's scope
    String mine = publish(s, "mch_1", "card");
    assertThat(byCookie.awaitEvents(1)).extracting(e -> e.id).containsExactly(mine);

    String shortLived = TestJwts.mint("ops-short", List.of("mch_1"), Duration.ofSeconds(2));
    Stream expiring = open(s, "?topics=mch_1", "Authorization", "Bearer " + shortLived);
    expiring.first(1);
    await().atMost(WAIT).until(() -> expiring.ended); // closed at expiry, as with 4003
    HttpResponse<String> again = get(s, "?topics=mch_1", "Authorization", "Bearer " + shortLived);
    assertThat(again.statusCode()).isEqualTo(401);
    assertThat(again.body()).contains("token expired");
  }

  private HttpResponse<String> get(FeedServer s, String query, String... headers)
      throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + s.port() + "/events" + query));
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return HttpClient.newHttpClient().send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static JsonObject json(Sse e) {
    return JsonParser.parseString(e.data).getAsJsonObject();
  }

  /** One SSE event as a browser dispatches it; {@code id} null when the event sets none. */
  record Sse(String event, String id, String data) {}

  /** A GET on /events read line by line on a thread of its own, parsed as EventSource does. */
  static final class Stream implements AutoCloseable {
    final HttpResponse<java.util.stream.Stream<String>> response;
    final List<Sse> events = new CopyOnWriteArrayList<>();
    final List<String> comments = new CopyOnWriteArrayList<>();
    final StringBuilder raw = new StringBuilder();
    volatile boolean ended; // the server ended the response

    Stream(URI uri, String... headers) throws Exception {
      HttpRequest.Builder b = HttpRequest.newBuilder(uri);
      for (int i = 0; i < headers.length; i += 2) {
        b.header(headers[i], headers[i + 1]);
      }
      HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
      response = client.send(b.build(), HttpResponse.BodyHandlers.ofLines());
      Thread t = new Thread(this::read, "sse-reader");
      t.setDaemon(true);
      t.start();
    }

    private void read() {
      String event = null;
      String id = null;
      StringBuilder data = null;
      try {
        Iterator<String> lines = response.body().iterator();
        while (lines.hasNext()) {
          String line = lines.next();
          synchronized (raw) {
            raw.append(line).append('\n');
          }
          if (line.isEmpty()) {
            if (event != null || id != null || data != null) {
              events.add(new Sse(event, id, data == null ? null : data.toString()));
            }
            event = null;
            id = null;
            data = null;
          } else if (line.startsWith(":")) {
            comments.add(line);
          } else {
            int colon = line.indexOf(':');
            String field = colon < 0 ? line : line.substring(0, colon);
            String value = colon < 0 ? "" : line.substring(colon + 1).replaceFirst("^ ", "");
            if (field.equals("event")) {
              event = value;
            } else if (field.equals("id")) {
              id = value;
            } else if (field.equals("data")) {
              data = data == null ? new StringBuilder(value) : data.append('\n').append(value);
            }
          }
        }
      } catch (RuntimeException closed) {
        // the test closed the stream
      } finally {
        ended = true;
      }
    }

    /** The first {@code n} events of any type (id-only ones left out), once they are here. */
    List<Sse> first(int n) {
      await().atMost(WAIT).until(() -> typed().size() >= n);
      return typed().subList(0, n);
    }

    /** Exactly the first {@code n} {@code event} events, and no more for a moment. */
    List<Sse> awaitEvents(int n) {
      await().atMost(WAIT).until(() -> eventsOnly().size() >= n);
      return eventsOnly();
    }

    private List<Sse> typed() {
      return events.stream().filter(e -> e.event != null).toList();
    }

    private List<Sse> eventsOnly() {
      return events.stream().filter(e -> "event".equals(e.event)).toList();
    }

    @Override
    public void close() {
      response.body().close();
    }
  }
}
