package dev.fanout.sample;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.gson.JsonObject;
import dev.fanout.client.ProtocolClient;
import dev.fanout.redis.RedisServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.boot.micrometer.metrics.test.autoconfigure.AutoConfigureMetrics;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * The sample service as deployed: the starter on Tomcat, Spring Security, Actuator, a real Redis
 * started here, real WebSocket clients over loopback.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@AutoConfigureMetrics // tests turn metrics export off unless asked
class PaymentsFeedIntegrationTest {
  static final RedisServer REDIS = RedisServer.withAppendOnly();
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @DynamicPropertySource
  static void redis(DynamicPropertyRegistry properties) throws Exception {
    REDIS.start();
    properties.add("fanout.redis-uri", () -> REDIS.uri().toString());
    properties.add("fanout.namespace", () -> "payments-it");
  }

  @AfterAll
  static void stopRedis() {
    REDIS.stop();
  }

  @LocalServerPort
  int port;

  private final List<ProtocolClient> clients = new ArrayList<>();

  @AfterEach
  void closeClients() {
    clients.forEach(ProtocolClient::close);
  }

  static String basic(String user, String password) {
    return "Basic " + Base64.getEncoder()
        .encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
  }

  URI ws() {
    return URI.create("ws://127.0.0.1:" + port + "/ws");
  }

  ProtocolClient client(String user, String password) throws Exception {
    ProtocolClient c = ProtocolClient.connect(ws(), Map.of("Authorization", basic(user, password)));
    clients.add(c);
    return c;
  }

  String pay(String paymentId, String merchant, String status) throws Exception {
    HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + port + "/payments"))
        .header("Authorization", basic("ops", "ops"))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"paymentId\":\"" + paymentId
            + "\",\"merchantId\":\"" + merchant + "\",\"method\":\"card\",\"status\":\""
            + status + "\",\"amount\":12.5}"))
        .build(), HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return r.body().replaceAll(".*\"id\":\"([^\"]+)\".*", "$1");
  }

  HttpResponse<String> get(String path) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void eventsPublishedThroughThePublisherReachEachSubscriberWithinItsScope() throws Exception {
    ProtocolClient ops = client("ops", "ops");
    ops.send("{\"type\":\"subscribe\",\"merchants\":[\"mch_1\",\"mch_2\"]}"); // alias
    ops.nextOfType("subscribed");
    ProtocolClient acme = client("acme-support", "acme"); // Spring Security's user: mch_1 only
    acme.send("{\"type\":\"subscribe\"}");
    acme.nextOfType("subscribed");
    String two = pay("pay_2", "mch_2", "captured");
    String one = pay("pay_1", "mch_1", "captured");
    await().atMost(Duration.ofSeconds(10)).until(() -> ops.eventIds().containsAll(List.of(two, one))
        && acme.eventIds().contains(one));
    assertThat(acme.eventIds()).doesNotContain(two);
    JsonObject data = acme.events().get(acme.events().size() - 1)
        .getAsJsonObject("data");
    assertThat(data.get("paymentId").getAsString()).isEqualTo("pay_1");
  }

  @Test
  void handshakesAreRefusedBeforeTheUpgrade() throws Exception {
    assertThat(ProtocolClient.status(ws(), Map.of())).as("no credentials").isEqualTo(401);
    assertThat(ProtocolClient.status(ws(), Map.of("Authorization", basic("ops", "ops"),
        "Origin", "https://evil.example"))).as("hostile origin").isEqualTo(403);
    assertThat(ProtocolClient.status(ws(), Map.of("Authorization", basic("ops", "ops"),
        "Origin", "http://localhost:8080"))).as("the configured origin").isEqualTo(101);
  }

  @Test
  void fanoutsMetricsAreOnTheApplicationsPrometheusEndpoint() throws Exception {
    ProtocolClient.status(ws(), Map.of("Authorization", basic("ops", "ops"),
        "Origin", "https://evil.example"));
    HttpResponse<String> r = get("/actuator/prometheus");
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    assertThat(r.body()).contains("fanout_connections_active ", "fanout_events_in_total ",
        "fanout_redis_link_up 1.0",
        "fanout_handshakes_refused_total{reason=\"origin not allowed\",status=\"403\"}");
  }

  @Test
  void healthFollowsTheRedisLinkAndAResumingClientLosesNothing() throws Exception {
    // the stream the node follows, so a node that gets nothing says where it listens
    assertThat(get("/actuator/health/fanout").body()).contains("\"status\":\"UP\"",
        "\"stream\":\"redis\"", "\"namespace\":\"payments-it\"", "\"link\":\"UP\"");
    ProtocolClient before = client("ops", "ops");
    before.send("{\"type\":\"subscribe\",\"merchants\":[\"mch_3\"]}");
    before.nextOfType("subscribed");
    String seen = pay("pay_3a", "mch_3", "authorized");
    await().until(() -> before.eventIds().contains(seen));
    before.close(); // the dashboard goes away; the service publishes on
    List<String> missed = new ArrayList<>(List.of(pay("pay_3b", "mch_3", "captured")));

    REDIS.kill();
    await().atMost(Duration.ofSeconds(15))
        .until(() -> get("/actuator/health/fanout").body().contains("\"status\":\"DOWN\""));
    assertThat(get("/actuator/health/fanout").body()).contains("\"link\":\"DOWN\"",
        "\"linkDownReason\":");
    assertThat(get("/actuator/health/fanout").statusCode()).isEqualTo(503);
    REDIS.restart();
    await().atMost(Duration.ofSeconds(15))
        .until(() -> get("/actuator/health/fanout").body().contains("\"status\":\"UP\""));
    missed.add(pay("pay_3c", "mch_3", "settled"));

    ProtocolClient back = client("ops", "ops");
    back.send("{\"type\":\"subscribe\",\"merchants\":[\"mch_3\"],\"lastEventId\":\""
        + seen + "\"}");
    JsonObject subscribed = back.nextOfType("subscribed");
    assertThat(subscribed.get("recovered").getAsBoolean()).isTrue();
    await().until(() -> back.eventIds().containsAll(missed));
    assertThat(back.eventIds()).containsExactlyElementsOf(missed);
  }
}
