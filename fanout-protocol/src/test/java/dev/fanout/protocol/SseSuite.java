package dev.fanout.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.fanout.client.SseClient;
import dev.fanout.core.Backpressure;
import dev.fanout.core.EventId;
import dev.fanout.core.InMemoryStream;
import dev.fanout.core.Scope;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Protocol v1 as Server-Sent Events (docs/protocol.md, "Server-Sent Events") against a real
 * server over loopback, with {@link SseClient} and raw sockets: the SSE counterpart of {@link
 * ProtocolSuite}. One suite for every transport: a subclass names the server.
 */
public abstract class SseSuite {
  static final String ORIGIN = "https://ops.example.com";
  static final Duration WAIT = Duration.ofSeconds(10);

  InMemoryStream stream;
  FanoutNode node;
  URI events;
  SseFixture server;
  final List<SseClient> clients = new ArrayList<>();
  final List<RawRequest> raws = new ArrayList<>();

  /** The transport under test, not started yet. */
  protected abstract SseFixture newServer();

  /**
   * A node on an in-memory stream, without a snapshot, that notices a client that left within
   * half a second; then {@code settings} on its builder.
   */
  void start(Consumer<FanoutNode.Builder> settings) throws Exception {
    start(1000, settings);
  }

  /** {@link #start(Consumer)} on a stream that retains {@code retention} events. */
  void start(int retention, Consumer<FanoutNode.Builder> settings) throws Exception {
    start(InMemoryStream.create(retention), settings);
  }

  /** {@link #start(Consumer)} on {@code bus}. */
  void start(InMemoryStream bus, Consumer<FanoutNode.Builder> settings) throws Exception {
    stream = bus;
    FanoutNode.Builder b = FanoutNode.builder().stream(stream).snapshotSize(0)
        .allowedOrigins(ORIGIN).heartbeat(Duration.ofMillis(500), Duration.ofSeconds(5))
        .sseHeartbeat(Duration.ofMillis(500));
    settings.accept(b);
    node = b.build().start();
    server = newServer();
    events = server.start(node);
  }

  void start() throws Exception {
    start(b -> { });
  }

  @AfterEach
  void stopAll() {
    clients.forEach(SseClient::close);
    raws.forEach(RawRequest::close);
    if (node != null) {
      node.close();
    }
    if (server != null) {
      server.close();
    }
  }

  /** A stream of {@code /events} with this query ("" or "?..."), headers as name, value. */
  SseClient open(String query, String... headers) throws Exception {
    Map<String, String> h = new LinkedHashMap<>();
    for (int i = 0; i < headers.length; i += 2) {
      h.put(headers[i], headers[i + 1]);
    }
    SseClient c = SseClient.open(URI.create(events + query), h);
    clients.add(c);
    return c;
  }

  /** A stream that got its {@code subscribed}. */
  SseClient subscribed(String query, String... headers) throws Exception {
    SseClient c = open(query, headers);
    assertThat(c.status()).as(c.text()).isEqualTo(200);
    c.awaitEvent("subscribed", WAIT);
    return c;
  }

  /** {@code GET <target>} over a raw socket, {@code Connection: close}, then the headers. */
  RawRequest raw(String target, String... headers) throws Exception {
    String[] all = new String[headers.length + 1];
    all[0] = "Connection: close";
    System.arraycopy(headers, 0, all, 1, headers.length);
    RawRequest r = RawRequest.get(events, target, all);
    raws.add(r);
    return r;
  }

  String pay(String merchant, String method) {
    return stream.publish(merchant, Map.of("method", method),
        "{\"merchantId\":\"" + merchant + "\",\"method\":\"" + method + "\"}").toString();
  }

  /** A refusal's body: {@code {"accepted":false,"status":...,"reason":...[,"code":...]}}. */
  static JsonObject refusal(String body, int status) {
    JsonObject o = JsonParser.parseString(body).getAsJsonObject();
    assertThat(o.get("accepted").getAsBoolean()).isFalse();
    assertThat(o.get("status").getAsInt()).isEqualTo(status);
    assertThat(o.get("reason").getAsString()).isNotBlank();
    return o;
  }

  /** A refusal answered by {@link SseRequest}: status, JSON content type and body, code. */
  static void assertRefused(SseClient c, int status, String code) {
    assertThat(c.status()).as(c.text()).isEqualTo(status);
    assertThat(c.header("Content-Type")).startsWith("application/json");
    c.awaitEnd(WAIT);
    JsonObject o = refusal(c.text(), status);
    if (code == null) {
      assertThat(o.has("code")).as(c.text()).isFalse();
    } else {
      assertThat(o.get("code").getAsString()).isEqualTo(code);
    }
    assertThat(c.events()).isEmpty();
  }

  /** A raw request refused with {@code status} and a JSON body with {@code code}. */
  static JsonObject assertRefused(RawRequest r, int status, String code) {
    assertThat(r.status(WAIT)).as(r.text()).isEqualTo(status);
    assertThat(r.ends(WAIT)).as("the refusal ends").isTrue();
    JsonObject o = refusal(r.body(), status);
    assertThat(o.get("code").getAsString()).as(r.body()).isEqualTo(code);
    return o;
  }

  /**
   * The node holds {@code connections} again, and serves: a new stream and the ones still open
   * get the next event.
   */
  void assertStillServes(int connections, SseClient... open) throws Exception {
    await().atMost(WAIT).until(() -> node.status().connections() == connections);
    SseClient fresh = subscribed("?topics=mch_1");
    String id = pay("mch_1", "card");
    for (SseClient c : concat(open, fresh)) {
      await().atMost(WAIT).until(() -> c.eventIds().contains(id));
      assertThat(c.ended()).isFalse();
    }
    fresh.close();
  }

  private static List<SseClient> concat(SseClient[] some, SseClient one) {
    List<SseClient> all = new ArrayList<>(List.of(some));
    all.add(one);
    return all;
  }

  // ---- the stream ----

  @Test
  void theStreamOpensWithItsHeadersARetryAndAComment() throws Exception {
    start();
    SseClient c = subscribed("?topics=mch_1", "Origin", ORIGIN);
    assertThat(c.header("Content-Type")).isEqualToIgnoringCase(SseRequest.CONTENT_TYPE);
    assertThat(c.header("Cache-Control")).isEqualTo("no-store");
    assertThat(c.header("X-Accel-Buffering")).isEqualTo("no");
    assertThat(c.header("Access-Control-Allow-Origin")).isEqualTo(ORIGIN);
    assertThat(c.header("Access-Control-Allow-Credentials")).isEqualTo("true");
    assertThat(c.retry()).isBetween(1000, 3000);
    assertThat(c.comments()).isPositive();
    assertThat(c.text()).startsWith("retry: ");
    JsonObject subscribed = c.events().get(0).json();
    assertThat(subscribed.get("type").getAsString()).isEqualTo("subscribed");
    assertThat(node.status().connections()).isEqualTo(1);
  }

  // ---- subscribe forms ----

  @Test
  void topicsAsAListOrRepeatedChooseTheEvents() throws Exception {
    start();
    SseClient list = subscribed("?topics=mch_1,mch_2");
    SseClient repeated = subscribed("?topics=mch_1&topics=mch_2");
    SseClient emptyItems = subscribed("?topics=,mch_1,,mch_2,");
    String a = pay("mch_1", "card");
    pay("mch_3", "card");
    String b = pay("mch_2", "sepa");
    for (SseClient c : List.of(list, repeated, emptyItems)) {
      c.awaitEvents("event", 2, WAIT);
      assertThat(c.eventIds()).containsExactly(a, b);
    }
    String c3 = pay("mch_3", "card");
    SseClient all = subscribed("?topics=");
    String d = pay("mch_3", "card");
    all.awaitEvents("event", 1, WAIT);
    assertThat(all.eventIds()).containsExactly(d).doesNotContain(c3);
    assertThat(list.eventIds()).containsExactly(a, b);
  }

  @Test
  void filtersChooseByAttribute() throws Exception {
    start();
    SseClient c = subscribed("?filter.method=card,sepa");
    SseClient both = subscribed("?topics=mch_2&filter.method=sepa&filter.method=ideal");
    String card = pay("mch_1", "card");
    pay("mch_1", "ideal");
    String sepa = pay("mch_2", "sepa");
    String ideal = pay("mch_2", "ideal");
    pay("mch_1", "sepa_no");
    c.awaitEvents("event", 2, WAIT);
    both.awaitEvents("event", 2, WAIT);
    String last = pay("mch_1", "card");
    await().atMost(WAIT).until(() -> c.eventIds().contains(last));
    assertThat(c.eventIds()).containsExactly(card, sepa, last);
    assertThat(both.eventIds()).containsExactly(sepa, ideal);
  }

  @Test
  void theDeploymentsAliasesMeanTopicsAndFilters() throws Exception {
    start(b -> b.topicAlias("merchants").filterAlias("methods", "method"));
    SseClient c = subscribed("?merchants=mch_1,mch_2&methods=card");
    pay("mch_1", "sepa");
    String card = pay("mch_2", "card");
    pay("mch_3", "card");
    c.awaitEvents("event", 1, WAIT);
    String last = pay("mch_1", "card");
    await().atMost(WAIT).until(() -> c.eventIds().contains(last));
    assertThat(c.eventIds()).containsExactly(card, last);
  }

  @Test
  void everyEventCarriesItsIdAsItsSseId() throws Exception {
    start();
    SseClient c = subscribed("?topics=mch_1");
    List<String> ids = List.of(pay("mch_1", "card"), pay("mch_1", "sepa"));
    List<SseClient.Event> got = c.awaitEvents("event", 2, WAIT);
    for (int i = 0; i < 2; i++) {
      SseClient.Event e = got.get(i);
      assertThat(e.id()).isEqualTo(ids.get(i));
      JsonObject frame = e.json();
      assertThat(frame.get("type").getAsString()).isEqualTo("event");
      assertThat(frame.get("id").getAsString()).isEqualTo(ids.get(i));
      assertThat(frame.getAsJsonObject("data").get("merchantId").getAsString())
          .isEqualTo("mch_1");
    }
    assertThat(c.lastEventId()).isEqualTo(ids.get(1));
  }

  @Test
  void overTheLimitsIs400TooMany() throws Exception {
    start(b -> b.maxTopics(3).maxFilters(2, 2));
    assertRefused(open("?topics=a,b,c,d"), 400, "too_many");
    assertRefused(open("?topics=a,b&topics=c,d"), 400, "too_many");
    assertRefused(open("?filter.method=a,b,c"), 400, "too_many");
    assertRefused(open("?filter.a=1&filter.b=1&filter.c=1"), 400, "too_many");
    assertRefused(open("?topics=" + "t".repeat(129)), 400, "bad_request");
    assertThat(node.status().connections()).isZero();
    assertThat(subscribed("?topics=a,b,c&filter.method=a,b").status()).isEqualTo(200);
  }

  @Test
  void malformedPercentEncodingIs400WithJson() throws Exception {
    start();
    for (String query : List.of("topics=%zz", "topics=mch_1%", "topics=%4",
        "filter.%zz=card", "lastEventId=%G1")) {
      assertRefused(raw("/events?" + query), 400, "bad_request");
    }
    assertStillServes(0);
  }

  @Test
  void aBadLastEventIdIs400WithJson() throws Exception {
    start();
    SseClient param = open("?lastEventId=x");
    assertRefused(param, 400, "bad_request");
    assertThat(refusal(param.text(), 400).get("reason").getAsString()).contains("lastEventId");
    assertRefused(open("", "Last-Event-ID", "x"), 400, "bad_request");
    assertRefused(open("?lastEventId=a:1&lastEventId=a:2"), 400, "bad_request");
    assertThat(node.status().connections()).isZero();
  }

  // ---- scope and authentication ----

  @Test
  void aRefusingAuthenticatorGets401Or403WithJson() throws Exception {
    start(b -> b.authenticator(req -> {
      String auth = req.header("Authorization");
      String cookie = req.header("Cookie");
      if ("Bearer good".equals(auth) || (cookie != null && cookie.contains("session=good"))) {
        return Authentication.allow("u", Scope.all());
      }
      if (auth == null && cookie == null) {
        return Authentication.unauthorized("no credentials");
      }
      return Authentication.forbidden("bad credentials");
    }));
    assertRefused(open("?topics=mch_1"), 401, null);
    assertRefused(open("?topics=mch_1", "Authorization", "Bearer bad"), 403, null);
    assertRefused(open("?topics=mch_1", "Cookie", "session=bad"), 403, null);
    assertThat(node.refusedHandshakes()).isNotEmpty();
    SseClient bearer = subscribed("?topics=mch_1", "Authorization", "Bearer good");
    SseClient cookie = subscribed("?topics=mch_1", "Cookie", "theme=dark; session=good");
    String id = pay("mch_1", "card");
    for (SseClient c : List.of(bearer, cookie)) {
      c.awaitEvents("event", 1, WAIT);
      assertThat(c.eventIds()).containsExactly(id);
    }
  }

  @Test
  void aTopicOutsideTheScopeIs403Forbidden() throws Exception {
    start(b -> b.authenticator(req -> Authentication.allow("u", Scope.of("mch_1"))));
    SseClient refused = open("?topics=mch_1,mch_2");
    assertRefused(refused, 403, "forbidden");
    assertThat(refused.text()).contains("mch_2");
    SseClient scoped = subscribed(""); // no topics: every topic the scope allows
    pay("mch_2", "card");
    String mine = pay("mch_1", "card");
    scoped.awaitEvents("event", 1, WAIT);
    String later = pay("mch_1", "card");
    await().atMost(WAIT).until(() -> scoped.eventIds().contains(later));
    assertThat(scoped.eventIds()).containsExactly(mine, later);
  }

  @Test
  void aHostileOriginIs403AndLearnsNothingMoreAndAnAllowedOneGetsCors() throws Exception {
    start(b -> b.allowMissingOrigin(false)
        .authenticator(req -> "Bearer good".equals(req.header("Authorization"))
            ? Authentication.allow("u", Scope.of("mch_1"))
            : Authentication.unauthorized("no credentials")));
    String notAllowed = "{\"accepted\":false,\"status\":403,\"reason\":\"origin not allowed\"}";
    for (String auth : List.of("Bearer good", "Bearer bad")) {
      for (String query : List.of("?topics=mch_1", "?topics=mch_2")) {
        SseClient hostile = open(query, "Origin", "https://evil.example.com",
            "Authorization", auth);
        assertRefused(hostile, 403, null);
        assertThat(hostile.text()).as("whatever its credentials and topics")
            .isEqualTo(notAllowed);
      }
    }
    SseClient missing = open("?topics=mch_1", "Authorization", "Bearer good");
    assertRefused(missing, 403, null); // no Origin, and none is allowed here
    assertThat(missing.text()).isEqualTo(notAllowed);
    assertThat(node.status().connections()).isZero();
    SseClient allowed = subscribed("?topics=mch_1", "Origin", ORIGIN,
        "Authorization", "Bearer good");
    assertThat(allowed.header("Access-Control-Allow-Origin")).isEqualTo(ORIGIN);
    assertThat(allowed.header("Access-Control-Allow-Credentials")).isEqualTo("true");
    assertThat(node.status().connections()).isEqualTo(1);
  }

  @Test
  void atTheConnectionCapANewStreamIs503UntilOneLeaves() throws Exception {
    start(b -> b.maxConnections(2));
    SseClient one = subscribed("?topics=mch_1");
    SseClient two = subscribed("?topics=mch_1");
    SseClient full = open("?topics=mch_1");
    assertRefused(full, 503, null);
    assertThat(full.text()).contains("connection limit reached");
    one.close(); // noticed at the next write at the latest: a heartbeat comment
    await().atMost(WAIT).until(() -> node.status().connections() == 1);
    SseClient three = subscribed("?topics=mch_1");
    String id = pay("mch_1", "card");
    for (SseClient c : List.of(two, three)) {
      c.awaitEvents("event", 1, WAIT);
      assertThat(c.eventIds()).containsExactly(id);
    }
  }

  @Test
  void aStreamEndsWhenItsCredentialsExpire() throws Exception {
    start(b -> b.authenticator(req -> Authentication.allowUntil("u", Scope.all(),
        Instant.now().plusMillis("short".equals(req.parameter("token")) ? 300 : 60_000))));
    SseClient lasting = subscribed("?token=long");
    SseClient expiring = subscribed("?token=short");
    expiring.awaitEnd(WAIT);
    await().atMost(WAIT).until(() -> node.status().connections() == 1);
    String id = pay("mch_1", "card");
    lasting.awaitEvents("event", 1, WAIT);
    assertThat(lasting.eventIds()).containsExactly(id);
    assertThat(expiring.eventIds()).isEmpty();
  }

  // ---- resume ----

  @Test
  void lastEventIdResumesExactly() throws Exception {
    start();
    SseClient first = subscribed("?topics=mch_1");
    List<String> seen = List.of(pay("mch_1", "card"), pay("mch_1", "card"),
        pay("mch_1", "card"));
    pay("mch_2", "card");
    first.awaitEvents("event", 3, WAIT);
    assertThat(first.eventIds()).isEqualTo(seen);
    assertThat(first.lastEventId()).isEqualTo(seen.get(2));
    first.close();
    List<String> missed = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      missed.add(pay("mch_1", "card"));
      pay("mch_2", "card");
    }
    SseClient back = first.reconnect(); // Last-Event-ID, as the browser's own reconnect
    clients.add(back);
    JsonObject subscribed = back.awaitEvent("subscribed", WAIT).json();
    assertThat(subscribed.get("recovered").getAsBoolean()).isTrue();
    assertThat(subscribed.get("missed").getAsInt()).isEqualTo(4);
    missed.add(pay("mch_1", "card"));
    back.awaitEvents("event", 5, WAIT);
    assertThat(back.eventIds()).as("no gap, no duplicate").isEqualTo(missed);
    // resumed from where it stands after the replay: nothing again, then the next live event
    back.close();
    SseClient again = back.reconnect();
    clients.add(again);
    JsonObject second = again.awaitEvent("subscribed", WAIT).json();
    assertThat(second.get("recovered").getAsBoolean()).isTrue();
    assertThat(second.get("missed").getAsInt()).isZero();
    String next = pay("mch_1", "card");
    again.awaitEvents("event", 1, WAIT);
    assertThat(again.eventIds()).containsExactly(next);
  }

  /**
   * On a partitioned stream every {@code id:} is where the client stands in each partition it
   * follows, so {@code Last-Event-ID} resumes exactly in all of them.
   */
  @Test
  void onAPartitionedStreamLastEventIdResumesEveryPartitionExactly() throws Exception {
    start(InMemoryStream.partitioned(4, 1000, 1000), b -> { });
    List<String> topics = List.of("mch_1", "mch_2", "mch_3", "mch_4", "mch_5", "mch_6");
    SseClient first = subscribed("?topics=" + String.join(",", topics));
    List<String> seen = new ArrayList<>();
    for (int i = 0; i < 12; i++) {
      seen.add(pay(topics.get(i % topics.size()), "card"));
    }
    first.awaitEvents("event", 12, WAIT);
    assertThat(first.eventIds()).containsExactlyElementsOf(seen);
    assertThat(first.lastEventId()).as("a position over partitions").contains(",");
    first.close();
    List<String> missed = new ArrayList<>();
    for (int i = 0; i < 12; i++) {
      missed.add(pay(topics.get((i * 5) % topics.size()), "card"));
    }
    SseClient back = first.reconnect();
    clients.add(back);
    JsonObject subscribed = back.awaitEvent("subscribed", WAIT).json();
    assertThat(subscribed.get("recovered").getAsBoolean()).isTrue();
    String live = pay("mch_1", "card");
    back.awaitEvents("event", 13, WAIT);
    assertThat(back.eventIds()).as("no gap, no duplicate, in every partition")
        .containsExactlyInAnyOrderElementsOf(concatIds(missed, live)).endsWith(live);
  }

  private static List<String> concatIds(List<String> ids, String one) {
    List<String> all = new ArrayList<>(ids);
    all.add(one);
    return all;
  }

  @Test
  void aQuietStreamsResumePointIsItsSubscribedsPosition() throws Exception {
    start();
    String before = pay("mch_1", "card");
    SseClient quiet = subscribed("?topics=mch_1");
    assertThat(quiet.lastEventId()).as("a quiet subscription has a resume point too")
        .isEqualTo(before);
    quiet.close();
    String missed = pay("mch_1", "card");
    SseClient back = quiet.reconnect();
    clients.add(back);
    assertThat(back.awaitEvent("subscribed", WAIT).json().get("recovered").getAsBoolean())
        .isTrue();
    back.awaitEvents("event", 1, WAIT);
    assertThat(back.eventIds()).containsExactly(missed);
  }

  @Test
  void aLastEventIdParameterServesTheFirstRequest() throws Exception {
    start();
    String seen = pay("mch_1", "card");
    List<String> missed = List.of(pay("mch_1", "card"), pay("mch_1", "sepa"));
    SseClient c = subscribed("?topics=mch_1&lastEventId=" + seen);
    JsonObject subscribed = c.events("subscribed").get(0).json();
    assertThat(subscribed.get("recovered").getAsBoolean()).isTrue();
    assertThat(subscribed.get("missed").getAsInt()).isEqualTo(2);
    c.awaitEvents("event", 2, WAIT);
    assertThat(c.eventIds()).isEqualTo(missed);
  }

  @Test
  void theLastEventIdHeaderWinsOverTheParameter() throws Exception {
    start();
    String old = pay("mch_1", "card");
    String newer = pay("mch_1", "card");
    String missed = pay("mch_1", "card");
    SseClient c = subscribed("?topics=mch_1&lastEventId=" + old, "Last-Event-ID", newer);
    JsonObject subscribed = c.events("subscribed").get(0).json();
    assertThat(subscribed.get("missed").getAsInt()).isEqualTo(1);
    c.awaitEvents("event", 1, WAIT);
    String live = pay("mch_1", "card");
    await().atMost(WAIT).until(() -> c.eventIds().contains(live));
    assertThat(c.eventIds()).containsExactly(missed, live);
    // an empty header wins too: no resume point (what the browser has after an empty id)
    SseClient empty = subscribed("?topics=mch_1&lastEventId=" + old, "Last-Event-ID", "");
    assertThat(empty.events("subscribed").get(0).json().get("recovered").getAsBoolean())
        .isFalse();
    String next = pay("mch_1", "card");
    empty.awaitEvents("event", 1, WAIT);
    assertThat(empty.eventIds()).containsExactly(next);
  }

  @Test
  void anUnknownOrTooOldIdGivesRecoveredFalseASnapshotAndAnEmptyId() throws Exception {
    start(10, b -> b.snapshotSize(3).recentEvents(0));
    String tooOld = pay("mch_1", "card");
    List<String> all = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      all.add(pay("mch_1", "card"));
    }
    for (String from : List.of("otherEpoch:3", tooOld)) {
      SseClient c = subscribed("?topics=mch_1", "Last-Event-ID", from);
      SseClient.Event subscribed = c.events("subscribed").get(0);
      assertThat(subscribed.json().get("recovered").getAsBoolean()).as(from).isFalse();
      assertThat(subscribed.id()).as("an empty id: the browser forgets " + from).isEmpty();
      c.awaitEvents("event", 3, WAIT);
      assertThat(c.eventIds()).as("the snapshot").isEqualTo(all.subList(17, 20));
      assertThat(c.lastEventId()).isEqualTo(all.get(19));
      assertThat(c.text().indexOf("\nid\n")).as("the empty id line before the snapshot")
          .isPositive().isLessThan(c.text().indexOf("event: event"));
    }
  }

  /** The 200's headers say whether the stream resumed ({@link SseRequest#RECOVERED}). */
  @Test
  void theRecoveredHeaderSaysWhetherTheStreamResumed() throws Exception {
    start();
    String seen = pay("mch_1", "card");
    pay("mch_1", "card");
    assertThat(subscribed("?topics=mch_1", "Last-Event-ID", seen).header(SseRequest.RECOVERED))
        .isEqualTo("true");
    assertThat(subscribed("?topics=mch_1&lastEventId=" + seen).header(SseRequest.RECOVERED))
        .isEqualTo("true");
    assertThat(subscribed("?topics=mch_1", "Last-Event-ID", "otherEpoch:1")
        .header(SseRequest.RECOVERED)).isEqualTo("false");
    assertThat(subscribed("?topics=mch_1").header(SseRequest.RECOVERED)).isEqualTo("false");
  }

  // ---- heartbeat ----

  /** A comment on every stream that wrote nothing within the SSE heartbeat interval. */
  @Test
  void heartbeatCommentsComeAtTheSseIntervalOnAQuietStream() throws Exception {
    Duration interval = Duration.ofMillis(150);
    start(b -> b.heartbeat(Duration.ofSeconds(30), Duration.ofSeconds(60)) // the WebSocket one
        .sseHeartbeat(interval));
    SseClient c = subscribed("?topics=mch_1");
    int before = c.comments();
    long start = System.nanoTime();
    c.awaitComments(before + 5, Duration.ofSeconds(5));
    long elapsed = System.nanoTime() - start;
    assertThat(elapsed).as("not more often than the interval")
        .isGreaterThanOrEqualTo(3 * interval.toNanos());
    assertThat(c.text()).contains("\n:\n\n");
    assertThat(c.ended()).isFalse();
  }

  // ---- backpressure ----

  /** Publishes {@code n} events of 64 KiB, at the pace the honest streams read. */
  private List<String> flood(int n, List<SseClient> honest) {
    String pad = "x".repeat(64 * 1024);
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      ids.add(stream.publish("mch_1", Map.of("method", "card"),
          "{\"i\":" + i + ",\"pad\":\"" + pad + "\"}").toString());
      if (ids.size() % 8 == 0) {
        int sent = ids.size();
        for (SseClient c : honest) { // promptly: each keeps up, or the test fails here
          await().pollInterval(Duration.ofMillis(1)).atMost(WAIT)
              .until(() -> c.eventCount() >= sent + 1);
        }
      }
    }
    return ids;
  }

  /** A stream whose client never reads: its socket buffers fill after a few large events. */
  private RawRequest nonReader() throws Exception {
    RawRequest r = RawRequest.get(events, "/events?topics=mch_1", 4096);
    raws.add(r);
    await().atMost(WAIT).until(() -> node.status().connections() == 3);
    return r;
  }

  @Test
  void aNonReaderUnderDisconnectIsClosedAndTheOthersGetEveryEvent() throws Exception {
    start(b -> b.outboxCapacity(16).backpressure(Backpressure.disconnect())
        .heartbeat(Duration.ofSeconds(30), Duration.ofSeconds(60))); // only the policy closes
    List<SseClient> honest = List.of(subscribed("?topics=mch_1"), subscribed("?topics=mch_1"));
    RawRequest stalled = nonReader();
    List<String> ids = flood(200, honest);
    await().atMost(WAIT).until(() -> node.status().connections() == 2);
    for (SseClient c : honest) {
      await().atMost(WAIT).until(() -> c.events("event").size() == ids.size());
      assertThat(c.eventIds()).isEqualTo(ids);
      assertThat(c.events("dropped")).isEmpty();
      assertThat(c.ended()).isFalse();
    }
    stalled.startReading(); // what it finds: the start of its stream, then the end
    await().atMost(WAIT).until(() -> stalled.body().contains("event: subscribed"));
    assertThat(stalled.text()).startsWith("HTTP/1.1 200");
    if (server.endsAStreamClosedBehindAWaitingWrite()) {
      await().atMost(WAIT).until(stalled::ended);
    }
    stalled.close();
    assertStillServes(2, honest.toArray(new SseClient[0]));
  }

  @Test
  void aNonReaderUnderDropNewestIsToldWhatItMissedAndTheOthersGetEveryEvent()
      throws Exception {
    start(b -> b.outboxCapacity(16).backpressure(Backpressure.dropNewest())
        .heartbeat(Duration.ofSeconds(30), Duration.ofSeconds(60)));
    List<SseClient> honest = List.of(subscribed("?topics=mch_1"), subscribed("?topics=mch_1"));
    RawRequest stalled = nonReader();
    List<String> ids = flood(200, honest);
    for (SseClient c : honest) {
      await().atMost(WAIT).until(() -> c.events("event").size() == ids.size());
      assertThat(c.eventIds()).isEqualTo(ids);
    }
    assertThat(node.status().connections()).as("dropping keeps it").isEqualTo(3);
    stalled.startReading();
    await().atMost(Duration.ofSeconds(30)).until(() -> node.hub().queuedEvents() == 0);
    String marker = pay("mch_1", "card");
    await().atMost(WAIT).until(() -> stalled.body().contains("\"id\":\"" + marker + "\""));
    long dropped = 0;
    List<String> got = new ArrayList<>();
    for (String block : stalled.body().split("\n\n")) {
      if (block.startsWith("event: dropped\n")) {
        dropped += frame(block).get("count").getAsLong();
      } else if (block.startsWith("event: event\n")) {
        got.add(frame(block).get("id").getAsString());
      }
    }
    assertThat(dropped).as("a dropped notice").isPositive();
    assertThat(got).doesNotHaveDuplicates().endsWith(marker);
    assertThat(got.stream().map(id -> EventId.parse(id).seq())).isSorted();
    assertThat(got.size() + dropped).as("every event delivered or counted as dropped")
        .isEqualTo(ids.size() + 1);
    assertThat(stalled.ended()).isFalse();
  }

  /** The JSON of one SSE event's {@code data:} lines. */
  private static JsonObject frame(String block) {
    StringBuilder data = new StringBuilder();
    for (String line : block.split("\n")) {
      if (line.startsWith("data: ")) {
        data.append(data.length() == 0 ? "" : "\n").append(line.substring(6));
      }
    }
    return JsonParser.parseString(data.toString()).getAsJsonObject();
  }

  // ---- the drain ----

  @Test
  void shutdownEndsEveryStreamAndRefusesNewOnesWith503() throws Exception {
    start();
    List<SseClient> all = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      all.add(subscribed("?topics=mch_1"));
    }
    String last = pay("mch_1", "card");
    for (SseClient c : all) {
      await().atMost(WAIT).until(() -> c.eventIds().contains(last));
    }
    CompletableFuture<Void> drain = CompletableFuture.runAsync(
        () -> node.shutdown(Duration.ofMillis(300)));
    for (SseClient c : all) {
      c.awaitEnd(WAIT);
      assertThat(c.failure()).as("the response ended as a response").isNull();
    }
    drain.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    assertThat(node.status().connections()).isZero();
    SseClient late = open("?topics=mch_1", "Last-Event-ID", last);
    assertRefused(late, 503, null);
    assertThat(refusal(late.text(), 503).get("reason").getAsString()).contains("shutting down");
  }

  // ---- 204 ----

  /** A principal that can never be served gets 204, which stops a browser for good. */
  @Test
  void aPrincipalWhoseScopeAllowsNoTopicGets204() throws Exception {
    start(b -> b.authenticator(req -> "none".equals(req.parameter("who"))
        ? Authentication.allow("nobody", Scope.none())
        : Authentication.allow("someone", Scope.of("mch_1"))));
    for (String query : List.of("?who=none", "?who=none&topics=mch_1")) {
      SseClient c = open(query);
      assertThat(c.status()).as(query + ": " + c.text()).isEqualTo(204);
      c.awaitEnd(WAIT);
      assertThat(c.text()).isEmpty();
    }
    assertThat(node.status().connections()).isZero();
    // a scope that allows some topic, but not the one asked: 403, not 204
    assertRefused(open("?who=some&topics=mch_2"), 403, "forbidden");
  }

  // ---- hostile input ----

  @Test
  void aHugeLastEventIdIsRefusedWith4xx() throws Exception {
    start();
    SseClient before = subscribed("?topics=mch_1");
    RawRequest r = raw("/events?topics=mch_1", "Last-Event-ID: " + "k".repeat(100_000) + ":1");
    int status = r.status(WAIT);
    assertThat(status).as(r.head(WAIT)).isBetween(400, 499);
    assertStillServes(1, before);
    // the same in the parameter, within what the request line may hold
    RawRequest param = raw("/events?topics=mch_1&lastEventId=" + "k".repeat(2000) + ":1");
    assertRefused(param, 400, "bad_request");
    assertThat(param.body().length()).as("the reason quotes no 2 KB id").isLessThan(400);
    RawRequest header = raw("/events?topics=mch_1", "Last-Event-ID: " + "k".repeat(6000) + ":1");
    assertRefused(header, 400, "bad_request");
    assertThat(header.body().length()).as("the reason quotes no 6 KB id").isLessThan(400);
    RawRequest two = raw("/events?topics=mch_1", "Last-Event-ID: k:1", "Last-Event-ID: k:2");
    assertRefused(two, 400, "bad_request");
    assertStillServes(1, before);
  }

  @Test
  void aMalformedLastEventIdIsRefusedWith400() throws Exception {
    start();
    SseClient before = subscribed("?topics=mch_1");
    for (String id : List.of("x", "k:", ":1", "k:-1", "k:1:2", "k:99999999999999999999999",
        "k:1,,", "k:1,k:2", "-1.k:1", "\u00e9t\u00e9:1", "k 1", "k".repeat(200) + ":1")) {
      assertRefused(raw("/events?topics=mch_1", "Last-Event-ID: " + id), 400, "bad_request");
    }
    // a control character: the container may refuse the header itself, with a body of its own
    RawRequest ctl = raw("/events?topics=mch_1", "Last-Event-ID: k:1\u0001");
    assertThat(ctl.status(WAIT)).as(ctl.text()).isEqualTo(400);
    assertStillServes(1, before);
  }

  @Test
  void tenThousandQueryParametersAreRefusedWith4xx() throws Exception {
    start();
    SseClient before = subscribed("?topics=mch_1");
    RawRequest huge = raw("/events?topics=mch_1" + "&p=1".repeat(10_000));
    assertThat(huge.status(WAIT)).as(huge.head(WAIT)).isBetween(400, 499);
    assertStillServes(1, before);
    // more than the endpoint takes, but a request line any server passes on
    RawRequest many = raw("/events?topics=mch_1" + "&p".repeat(1001));
    int status = many.status(WAIT);
    assertThat(status).as(many.text()).isBetween(400, 499);
    assertStillServes(1, before);
  }

  @Test
  void idsCannotInjectResponseHeaders() throws Exception {
    start();
    SseClient before = subscribed("?topics=mch_1");
    String valid = pay("mch_1", "card");
    List<RawRequest> attempts = List.of(
        raw("/events?topics=mch_1&lastEventId=x%0d%0aSet-Cookie:%20pwned=1"),
        raw("/events?topics=mch_1&lastEventId=" + valid + "%0d%0aSet-Cookie:%20pwned=1"),
        raw("/events?topics=mch_1&lastEventId=" + valid + "%0aSet-Cookie:%20pwned=1"),
        raw("/events?topics=mch_1", "Last-Event-ID: " + valid + "\rSet-Cookie: pwned=1"),
        raw("/events?topics=mch_1", "Last-Event-ID: " + valid + "\nSet-Cookie: pwned=1"),
        raw("/events?topics=mch_1", "Last-Event-ID: " + valid + "\r\nSet-Cookie: pwned=1"));
    for (RawRequest r : attempts) {
      int status = r.status(WAIT);
      String head = r.head(WAIT);
      assertThat(status).as(head).isBetween(200, 499);
      for (String line : head.split("\r\n")) {
        assertThat(line.toLowerCase()).as(head).doesNotStartWith("set-cookie")
            .doesNotContain("pwned");
      }
      if (status != 200) {
        assertThat(r.ends(WAIT)).isTrue();
      }
      if (r.body().startsWith("{")) { // fanout's refusal: JSON that kept the id's breaks escaped
        assertThat(r.body()).doesNotContain("\r").doesNotContain("\n");
        refusal(r.body(), status);
      }
      r.close();
    }
    assertStillServes(1, before);
  }

  @Test
  void publishedLineBreaksNeverBreakTheFraming() throws Exception {
    start();
    SseClient c = subscribed("?topics=mch_1");
    List<String> data = List.of(
        "{\"a\":1,\n\"b\":2}",
        "{\"a\":1,\r\n\r\n\"b\":\r\"x\"}",
        "{\"evil\":\"\\n\\nevent: bus\\ndata: {}\\n\\n\"}",
        "{\"a\":\n\n\n1,\r\n\"b\"\r:\r\n[\n]}");
    List<String> ids = new ArrayList<>();
    for (String d : data) {
      ids.add(stream.publish("mch_1", Map.of("method", "card"), d).toString());
    }
    String after = pay("mch_1", "card");
    await().atMost(WAIT).until(() -> c.eventIds().contains(after));
    List<SseClient.Event> got = c.events("event");
    assertThat(c.events()).extracting(SseClient.Event::type)
        .containsOnly("subscribed", "event");
    assertThat(got).hasSize(data.size() + 1);
    for (int i = 0; i < data.size(); i++) {
      SseClient.Event e = got.get(i);
      assertThat(e.id()).isEqualTo(ids.get(i));
      String expected = data.get(i).replace("\r\n", "\n").replace('\r', '\n');
      String text = e.data();
      int start = text.indexOf("\"data\":") + 7;
      assertThat(text.substring(start, text.length() - 1)).as("the data rejoined")
          .isEqualTo(expected);
      JsonElement parsed = JsonParser.parseString(data.get(i));
      assertThat(e.json().get("data")).isEqualTo(parsed);
    }
    assertThat(c.lastEventId()).isEqualTo(after);
    assertThat(c.text()).doesNotContain("\nevent: bus");
  }
}
