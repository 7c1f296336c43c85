package dev.fanout.example;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fanout.client.ProtocolClient;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Who may connect from a browser (--allowed-origins adds to the page's own origins), and what
 * /ws/check tells a page whose handshake is refused: the status and reason its handshake got.
 * BrowserIntegrationTest shows the same in Chromium, from the page and from another origin.
 */
class OriginsAndRefusalsIntegrationTest {
  /** The transport the servers of these tests run on; a subclass runs them all on Netty. */
  String transport() {
    return "jetty";
  }

  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final String ELSEWHERE = "https://ops.example.com";
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
    c.generator = false;
    c.shutdownSpread = Duration.ofMillis(50);
    c.transport = transport();
    settings.accept(c);
    FeedServer s = FeedServer.start(c);
    open.add(s);
    return s;
  }

  /** The handshake's status, with {@code token} (or "": none) in the page's cookie. */
  private static int handshake(FeedServer s, String token, String origin) throws Exception {
    Map<String, String> headers = new HashMap<>();
    if (origin != null) {
      headers.put("Origin", origin);
    }
    if (!token.isEmpty()) {
      headers.put("Cookie", "fanout_token=" + token);
    }
    return ProtocolClient.status(URI.create("ws://127.0.0.1:" + s.port() + "/ws"), headers);
  }

  /** /ws/check as the page asks it: its cookie (with {@code token} unless "") and headers. */
  private static HttpResponse<String> check(FeedServer s, String token, String... headers)
      throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + s.port() + "/ws/check"));
    if (!token.isEmpty()) {
      b.header("Cookie", "fanout_token=" + token);
    }
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static List<String> own(FeedServer s) {
    return List.of("http://127.0.0.1:" + s.port(), "http://localhost:" + s.port());
  }

  @Test
  void byDefaultOnlyThePagesOwnOriginsMayConnect() throws Exception {
    FeedServer s = server(c -> {});
    for (String origin : own(s)) {
      assertThat(handshake(s, "", origin)).as(origin).isEqualTo(101);
    }
    assertThat(handshake(s, "", ELSEWHERE)).isEqualTo(403);
  }

  @Test
  void allowedOriginsAddToThePagesOwnSoTheBuiltInPageKeepsWorking() throws Exception {
    FeedServer s = server(c -> c.allowedOrigins = List.of(ELSEWHERE));
    for (String origin : own(s)) {
      assertThat(handshake(s, "", origin)).as(origin).isEqualTo(101);
    }
    assertThat(handshake(s, "", ELSEWHERE)).isEqualTo(101);
    assertThat(handshake(s, "", "https://evil.example")).isEqualTo(403);
  }

  @Test
  void aStarAllowsAnyOrigin() throws Exception {
    FeedServer s = server(c -> c.allowedOrigins = List.of("*"));
    assertThat(handshake(s, "", "https://evil.example")).isEqualTo(101);
    assertThat(handshake(s, "", own(s).get(0))).isEqualTo(101);
  }

  @Test
  void theCheckAnswersWhatTheHandshakeGetsAndThePageMayReadIt() throws Exception {
    FeedServer s = server(c -> c.jwt = TestJwts.authenticator());
    String good = TestJwts.mint("ops", List.of(), Duration.ofMinutes(5));
    String expired = TestJwts.expired("ops");
    String page = own(s).get(0);

    HttpResponse<String> other = check(s, good, "Origin", ELSEWHERE);
    assertThat(other.statusCode()).isEqualTo(403).isEqualTo(handshake(s, good, ELSEWHERE));
    assertThat(other.body())
        .isEqualTo("{\"accepted\":false,\"status\":403,\"reason\":\"origin not allowed\"}");
    assertThat(other.headers().firstValue("Access-Control-Allow-Origin")).hasValue(ELSEWHERE);
    assertThat(other.headers().firstValue("Access-Control-Allow-Credentials")).hasValue("true");
    assertThat(other.headers().firstValue("Content-Type")).get().asString()
        .startsWith("application/json");

    HttpResponse<String> old = check(s, expired, "Origin", page);
    assertThat(old.statusCode()).isEqualTo(401).isEqualTo(handshake(s, expired, page));
    assertThat(old.body()).contains("\"reason\":\"token expired\"");

    HttpResponse<String> fine = check(s, good, "Origin", page);
    assertThat(fine.statusCode()).isEqualTo(200);
    assertThat(fine.body()).isEqualTo("{\"accepted\":true}");
    assertThat(handshake(s, good, page)).isEqualTo(101);

    // the built-in page reached under a name not on the list: no Origin on its same-origin
    // check, so fanout-client names the page's origin
    assertThat(check(s, good, "Fanout-Page-Origin", "http://ops-box:" + s.port()).body())
        .contains("origin not allowed");

    // checks are no handshakes: only the two refused handshakes above are counted
    assertThat(s.node().refusedHandshakes())
        .containsExactlyInAnyOrderEntriesOf(Map.of("403 origin not allowed", 1L,
            "401 token expired", 1L));
  }

  @Test
  void thePageLoadsThePackagesOwnClientFile() throws Exception {
    FeedServer s = server(c -> {});
    HttpResponse<String> served = HTTP.send(HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + s.port() + "/fanout-client.js")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(served.statusCode()).isEqualTo(200);
    assertThat(served.body())
        .isEqualTo(Files.readString(Path.of("..", "fanout-client-js", "fanout-client.js")));
  }
}
