package dev.fanout.example;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fanout.client.ProtocolClient;
import dev.fanout.client.Warmup;
import dev.fanout.core.EventId;
import dev.fanout.redis.RedisPublisher;
import dev.fanout.redis.RedisServer;
import dev.fanout.redis.RedisStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The example server in-process: endpoints, embedded mode, the warm-up, and two nodes on Redis
 * (tokens: JwtIntegrationTest).
 */
class ExampleServerIntegrationTest {
  /** The transport the servers of these tests run on; a subclass runs them all on Netty. */
  String transport() {
    return "jetty";
  }

  @RegisterExtension final RedisServer redis = RedisServer.withAppendOnly();

  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private final List<AutoCloseable> open = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    for (int i = open.size() - 1; i >= 0; i--) {
      open.get(i).close();
    }
  }

  private FeedServer server(Consumer<FeedServer.Config> settings) throws Exception {
    FeedServer.Config c = new FeedServer.Config();
    c.host = "127.0.0.1";
    c.port = 0;
    c.shutdownSpread = Duration.ofMillis(100);
    c.transport = transport();
    settings.accept(c);
    FeedServer s = FeedServer.start(c);
    open.add(s);
    return s;
  }

  private ProtocolClient client(FeedServer s, String query) throws Exception {
    ProtocolClient p =
        ProtocolClient.connect(URI.create("ws://127.0.0.1:" + s.port() + "/ws" + query));
    open.add(p);
    return p;
  }

  private static HttpResponse<String> get(FeedServer s, String path) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port() + path))
        .build(), HttpResponse.BodyHandlers.ofString());
  }

  /** A GET carrying {@code token} as a Bearer header. */
  private static HttpResponse<String> get(FeedServer s, String path, String token)
      throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port() + path))
        .header("Authorization", "Bearer " + token).build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void embeddedModeServesPageMetricsHealthAndALiveFeed() throws Exception {
    FeedServer s = server(c -> c.rate = 200);
    HttpResponse<String> page = get(s, "/");
    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(page.body()).contains("<title>fanout · payments</title>", "fanout-client.js");
    assertThat(get(s, "/fanout-client.js").body()).contains("class FanoutClient");
    assertThat(get(s, "/dashboard.js").statusCode()).isEqualTo(200);

    ProtocolClient c = client(s, "");
    c.send("{\"type\":\"subscribe\",\"merchants\":[\"mch_03\"]}");
    await().until(() -> c.eventIds().size() >= 5);
    assertThat(c.dataValues("merchantId")).containsOnly("mch_03");

    String health = get(s, "/health").body();
    assertThat(health).contains("\"status\":\"UP\"", "\"mode\":\"embedded\"",
        "\"connections\":1");
    String metrics = get(s, "/metrics").body();
    assertThat(health).containsPattern("\"newestEventAgeMs\":\\d+");
    assertThat(metrics).contains("fanout_connections_active 1.0", "fanout_events_in_total",
        "fanout_events_out_total", "fanout_delivery_latency_seconds_bucket",
        "fanout_event_age_seconds_bucket", "fanout_newest_event_age_seconds", "fanout_bus_up 1.0",
        "fanout_events_dropped_total{policy=\"disconnect\"} 0.0",
        "fanout_events_dropped_total{policy=\"drop-oldest\"} 0.0", "process_files_open_files",
        "process_files_max_files", "jvm_memory_used_bytes", "jvm_threads_live_threads",
        "process_cpu_usage",
        "fanout_queue_depth", "fanout_resumes_total{recovered=\"true\"}");
    assertThat(get(s, "/nope").statusCode()).isEqualTo(404);
  }

  /**
   * The page's merchant filters come from the server's directory (not from the page), with the
   * generator publishing for the same merchants; with authentication on, only what the token
   * may see (issue 28), and a refused token is told why, as by /session.
   */
  @Test
  void theMerchantListIsTheServersDirectoryScopedToTheViewersToken() throws Exception {
    FeedServer open = server(c -> {
      c.merchants = new Merchants(Map.of("mch_x", "Xylo Music"));
      c.rate = 200;
    });
    HttpResponse<String> all = get(open, "/merchants");
    assertThat(all.statusCode()).isEqualTo(200);
    assertThat(all.headers().firstValue("Content-Type")).get().asString()
        .startsWith("application/json");
    assertThat(all.body())
        .isEqualTo("{\"merchants\":[{\"id\":\"mch_x\",\"name\":\"Xylo Music\"}]}");
    ProtocolClient c = client(open, "");
    c.send("{\"type\":\"subscribe\"}");
    await().until(() -> c.eventIds().size() >= 5);
    assertThat(c.dataValues("merchantId")).containsOnly("mch_x");

    FeedServer scoped = server(c2 -> {
      c2.jwt = TestJwts.authenticator();
      c2.generator = false;
    });
    String two = TestJwts.mint("ops", List.of("mch_07", "mch_99", "mch_03"), Duration.ofMinutes(1));
    assertThat(get(scoped, "/merchants", two).body()).isEqualTo("{\"merchants\":["
        + "{\"id\":\"mch_03\",\"name\":\"Copperline Bikes\"},"
        + "{\"id\":\"mch_07\",\"name\":\"Granite Tools\"},{\"id\":\"mch_99\"}]}");
    String every = TestJwts.mint("ops", List.of(), Duration.ofMinutes(1));
    assertThat(get(scoped, "/merchants", every).body())
        .contains("\"mch_01\"", "\"mch_12\"", "Lumen Electronics");
    HttpResponse<String> none = get(scoped, "/merchants");
    assertThat(none.statusCode()).isEqualTo(401);
    assertThat(none.body()).isEqualTo("{\"error\":\"token missing\"}");
    assertThat(get(scoped, "/merchants", TestJwts.expired("ops")).body())
        .isEqualTo("{\"error\":\"token expired\"}");
  }

  @Test
  void aSilentSocketIsClosedButAnIdleWebSocketStays() throws Exception {
    Duration timeout = Duration.ofMillis(400);
    FeedServer s = server(c -> {
      c.generator = false; // nothing published: the WebSocket below is idle
      c.requestTimeout = timeout;
    });
    ProtocolClient idle = client(s, "");
    try (Socket silent = new Socket("127.0.0.1", s.port())) {
      silent.setSoTimeout(50);
      await().atMost(Duration.ofSeconds(5)).until(() -> ProtocolClient.closedByServer(silent));
    }
    await().during(timeout.multipliedBy(3)).atMost(timeout.multipliedBy(6))
        .until(idle::isOpen);
    idle.send("{\"type\":\"subscribe\"}");
    await().until(() -> idle.sawFrame("\"type\":\"subscribed\""));
  }

  @Test
  void aRequestThatTricklesInIsClosedAtTheDeadline() throws Exception {
    FeedServer s = server(c -> {
      c.generator = false;
      c.requestTimeout = Duration.ofMillis(400);
    });
    try (Socket slow = new Socket("127.0.0.1", s.port())) {
      slow.setSoTimeout(50);
      OutputStream out = slow.getOutputStream();
      out.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n".getBytes(StandardCharsets.US_ASCII));
      await().atMost(Duration.ofSeconds(5)).until(() -> {
        out.write("X-Slow: 1\r\n".getBytes(StandardCharsets.US_ASCII)); // now and then
        return ProtocolClient.closedByServer(slow);
      });
    } catch (IOException e) {
      // a write after the server closed may fail with a reset: closed either way
    }
    assertThat(get(s, "/health/live").statusCode()).isEqualTo(200);
  }

  @Test
  void twoNodesOnOneRedisDeliverEveryEventAndAClientResumesOnTheOtherNode() throws Exception {
    Consumer<FeedServer.Config> redisMode = c -> {
      c.redis = redis.uri();
      c.namespace = "itest";
      c.generator = false;
    };
    FeedServer a = server(redisMode);
    FeedServer b = server(redisMode);
    RedisPublisher publisher = RedisPublisher.create(redis.uri(), RedisStream.named("itest"));
    open.add(publisher);
    await().until(() -> get(a, "/health").body().contains("\"redis\":\"UP\"")
        && get(b, "/health").body().contains("\"redis\":\"UP\""));

    ProtocolClient onA = client(a, "");
    ProtocolClient onB = client(b, "");
    onA.send("{\"type\":\"subscribe\"}");
    onB.send("{\"type\":\"subscribe\"}");
    await().until(() -> onA.sawFrame("subscribed") && onB.sawFrame("subscribed"));
    List<String> first = new ArrayList<>();
    for (int i = 0; i < 30; i++) {
      first.add(publishOne(publisher, i));
    }
    await().until(() -> onA.eventIds().size() == 30 && onB.eventIds().size() == 30);
    assertThat(onA.eventIds()).isEqualTo(first);
    assertThat(onB.eventIds()).isEqualTo(first);

    onA.close(); // the client goes away from A...
    List<String> missed = new ArrayList<>();
    for (int i = 30; i < 45; i++) {
      missed.add(publishOne(publisher, i));
    }
    ProtocolClient back = client(b, ""); // ...and comes back on B, no sticky sessions
    back.send("{\"type\":\"subscribe\",\"lastEventId\":\"" + first.get(29) + "\"}");
    await().until(() -> back.eventIds().size() == 15);
    assertThat(back.texts().get(0)) // then the newest id B had routed, which races the publishes
        .startsWith("{\"type\":\"subscribed\",\"recovered\":true,\"missed\":15,"
            + "\"replay\":15,\"position\":");
    assertThat(back.eventIds()).isEqualTo(missed);
  }

  private static String publishOne(RedisPublisher p, int i) {
    EventId id = p.publish("mch_0" + (1 + i % 9), Map.of("method", "card", "status", "captured",
        "paymentId", "pay_" + i), "{\"merchantId\":\"mch_0" + (1 + i % 9) + "\",\"i\":" + i + "}");
    return id.toString();
  }

  @Test
  void warmUpConnectionsAreNotClientsAndLeaveTheConnectionCapToClients() throws Exception {
    FeedServer s = server(c -> {
      c.maxConnections = 1; // 16 warm-up connections in flight, none of them a client
      c.warmupConnections = 200;
    });
    await().atMost(Duration.ofSeconds(60)).until(() -> get(s, "/health/ready").statusCode() == 200);
    await().until(() -> s.node().hub().connectionCount() == 0);
    String metrics = get(s, "/metrics").body();
    assertThat(metrics).doesNotContain("fanout_handshakes_refused_total{");
    assertThat(sum(metrics, "fanout_connections_opened_total ")).isEqualTo(Warmup.ROUNDS * 200);
    ProtocolClient client = client(s, ""); // the one slot is still there
    client.send("{\"type\":\"subscribe\"}");
    await().until(() -> client.sawFrame("\"type\":\"subscribed\""));
    assertThat(ProtocolClient.status(URI.create("ws://127.0.0.1:" + s.port() + "/ws"), Map.of()))
        .as("the next client is over the cap").isEqualTo(503);
  }

  private static double sum(String metrics, String prefix) {
    return metrics.lines().filter(l -> l.startsWith(prefix))
        .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
  }

  @Test
  void aNodeThatWarmsUpSaysSoUntilDoneAndKeepsNoConnection() throws Exception {
    FeedServer s = server(c -> {
      c.jwt = TestJwts.authenticator(); // the warm-up comes in by the node's header
      c.warmupConnections = 200;
    });
    HttpResponse<String> first = get(s, "/health/ready");
    assertThat(first.statusCode()).isEqualTo(503);
    assertThat(first.body()).contains("warming up");
    await().atMost(Duration.ofSeconds(60)).until(() -> get(s, "/health/ready").statusCode() == 200);
    await().until(() -> s.node().hub().connectionCount() == 0);
    assertThat(get(s, "/metrics").body()) // every warm-up subscribe was let in, then closed
        .contains("fanout_connections_opened_total " + Warmup.ROUNDS * 200 + ".0",
            "fanout_connections_closed_total " + Warmup.ROUNDS * 200 + ".0")
        .doesNotContain("fanout_handshakes_refused_total{");
  }
}
