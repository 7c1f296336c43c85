package dev.fanout.example;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fanout.protocol.RawHttp;
import java.net.URI;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The example server's HTTP edge against hand-made requests (issue 32): every request gets the
 * same status on both transports, nothing the server failed to parse is upgraded or served, the
 * page is served whole with its security headers and without the server's version, and a
 * request carries one token. A subclass runs it all on Netty.
 */
class EdgeIntegrationTest {
  private static final String KEY = "dGhlIHNhbXBsZSBub25jZQ==";

  /** The transport the server of these tests runs on; a subclass runs them all on Netty. */
  String transport() {
    return "jetty";
  }

  private FeedServer server;
  private URI base;
  private String origin;
  private String token;
  private String auth; // the header that carries it

  @BeforeEach
  void start() throws Exception {
    FeedServer.Config c = new FeedServer.Config();
    c.host = "127.0.0.1";
    c.port = 0;
    c.generator = false;
    c.jwt = TestJwts.authenticator();
    c.shutdownSpread = Duration.ofMillis(50);
    c.transport = transport();
    server = FeedServer.start(c);
    base = URI.create("http://127.0.0.1:" + server.port());
    origin = "http://127.0.0.1:" + server.port(); // the page's own, allowed by default
    token = TestJwts.mint("ops", List.of(), Duration.ofMinutes(5));
    auth = "Authorization: Bearer " + token + "\r\n";
  }

  @AfterEach
  void stop() {
    server.close();
  }

  @Test
  void whatTheServerFailedToParseIsAnswered431Or414AndNeverUpgraded() throws Exception {
    StringBuilder junk = new StringBuilder();
    for (int i = 0; i < 110; i++) { // ~10 KB of headers, then a hostile Origin
      junk.append("X-Junk-").append(i).append(": ").append("a".repeat(90)).append("\r\n");
    }
    assertThat(status(upgrade("/ws", auth + junk + "Origin: https://evil.example\r\n")))
        .isEqualTo(431);
    StringBuilder many = new StringBuilder();
    for (int i = 0; i < 500; i++) {
      many.append("X-H").append(i).append(": ").append("b".repeat(93)).append("\r\n");
    }
    assertThat(status(upgrade("/ws", auth + many.toString()))).isEqualTo(431);
    StringBuilder protocols = new StringBuilder("Sec-WebSocket-Protocol: p0");
    for (int i = 1; i < 10_000; i++) {
      protocols.append(",p").append(i);
    }
    assertThat(status(upgrade("/ws", auth + protocols + "\r\n"))).isEqualTo(431);
    assertThat(status(get("/" + "a".repeat(9000), ""))).isEqualTo(414);
    StringBuilder range = new StringBuilder("Range: bytes=0-0"); // 12.8 KB
    for (int i = 1; i < 1500; i++) {
      range.append(',').append(i).append('-').append(i);
    }
    assertThat(status(get("/", range + "\r\n"))).isEqualTo(431);
    assertThat(server.node().hub().connectionCount()).isZero();
  }

  @Test
  void ambiguousRequestsAreRefusedWith400OnBothTransports() throws Exception {
    Map<String, String> requests = new LinkedHashMap<>();
    requests.put("two Hosts", get("/health", "Host: y\r\n"));
    requests.put("no Host", "GET /health HTTP/1.1\r\n\r\n");
    requests.put("Content-Length and Transfer-Encoding",
        get("/health", "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n") + "0\r\n\r\n");
    requests.put("a NUL", get("/health", "X-A: a\0b\r\n"));
    requests.put("obs-fold", get("/health", "X-A: a\r\n b\r\n"));
    requests.put("//x", get("//x", ""));
    requests.put("//ws", get("//ws", ""));
    requests.put("/health/../metrics", get("/health/../metrics", ""));
    requests.put("/./health", get("/./health", ""));
    requests.put("/health/..", get("/health/..", ""));
    requests.put("/%2e%2e/health", get("/%2e%2e/health", ""));
    requests.put("upgrade on /x/../ws", upgrade("/x/../ws", auth));
    requests.put("upgrade on //ws", upgrade("//ws", auth));
    requests.put("upgrade with two Hosts", upgrade("/ws", auth + "Host: y\r\n"));
    requests.put("upgrade with obs-fold", upgrade("/ws", auth + "X-A: a\r\n b\r\n"));
    for (String bad : new String[] {"", "abc", "AAAAAAAAAAAAAAAAAAAA", // 15 bytes
        "AAAAAAAAAAAAAAAAAAAAAAA=", "AAAAAAAAAAAAAAAAAAAAAAAA", // 17 and 18 bytes
        "_-_-_-_-_-_-_-_-_-_-_w=="}) { // 16 bytes, but in base64url
      requests.put("key " + bad, upgradeWithKey("/ws", bad, auth));
    }
    requests.put("two keys", upgradeWithKey("/ws", KEY,
        auth + "Sec-WebSocket-Key: " + KEY + "\r\n"));
    // a query no URI can hold: 400, not a 500 from parsing it
    requests.put("upgrade with ?topics=%zz", upgrade("/ws?topics=%zz", auth));
    requests.put("/merchants?x=%zz", get("/merchants?x=%zz", auth));
    requests.put("/events?topics=%zz", get("/events?topics=%zz", auth));
    for (Map.Entry<String, String> r : requests.entrySet()) {
      assertThat(status(r.getValue())).as(r.getKey()).isEqualTo(400);
    }
    assertThat(status(upgrade("/ws", auth))).as("the same, well formed")
        .isEqualTo(101);
  }

  @Test
  void twoOriginHeadersAreRefusedAndAnOriginMatchesInAnyCase() throws Exception {
    String ws = "/ws";
    assertThat(status(upgrade(ws, auth + "Origin: " + origin
        + "\r\nOrigin: https://evil.example\r\n"))).isEqualTo(403);
    assertThat(status(upgrade(ws, auth + "Origin: https://evil.example\r\nOrigin: " + origin
        + "\r\n"))).isEqualTo(403);
    assertThat(status(upgrade(ws, auth + "Origin: " + origin.toUpperCase() + "\r\n")))
        .isEqualTo(101);
  }

  @Test
  void aRequestCarriesOneToken() throws Exception {
    String other = TestJwts.mint("other", List.of("mch_01"), Duration.ofMinutes(5));
    String cookie = "Cookie: fanout_token=" + token + "\r\n";
    String otherBearer = "Authorization: Bearer " + other + "\r\n";
    assertThat(status(upgrade("/ws", auth))).isEqualTo(101);
    assertThat(status(upgrade("/ws", cookie))).isEqualTo(101);
    assertThat(status(get("/session", auth))).isEqualTo(200);
    assertThat(status(get("/session", cookie))).isEqualTo(200);
    for (String two : List.of(auth + auth, auth + otherBearer, auth + cookie,
        otherBearer + cookie, cookie + "Cookie: fanout_token=" + other + "\r\n",
        "Cookie: fanout_token=" + token + "; fanout_token=" + other + "\r\n",
        "Authorization: Bearer " + token + ", Bearer " + other + "\r\n")) {
      assertThat(status(upgrade("/ws", two))).as(two).isEqualTo(401);
      assertThat(status(get("/session", two))).as(two).isEqualTo(401);
    }
    // in the URL: refused while that source is off, with or without another token
    assertThat(status(upgrade("/ws?token=" + token, ""))).isEqualTo(401);
    assertThat(status(upgrade("/ws?access_token=" + token, auth))).isEqualTo(401);
    assertThat(status(get("/session?token=" + token, ""))).isEqualTo(401);
  }

  @Test
  void thePagesFilesAreServedWholeWithSecurityHeadersAndNoServerVersion() throws Exception {
    for (String path : List.of("/", "/index.html", "/dashboard.js", "/fanout-client.js",
        "/style.css", "/health")) {
      RawHttp.Answer a = RawHttp.send(base, get(path, "Range: bytes=0-10,20-30,40-50\r\n"));
      assertThat(a.status()).as(path).isEqualTo(200); // ranges off: the whole file
      assertThat(a.header("Content-Range")).as(path).isNull();
      assertThat(a.header("Content-Type")).as(path).doesNotContain("multipart");
      assertThat(a.header("Server")).as(path).isNull();
      assertThat(a.header("X-Content-Type-Options")).as(path).isEqualTo("nosniff");
      assertThat(a.header("X-Frame-Options")).as(path).isEqualTo("DENY");
      assertThat(a.header("Referrer-Policy")).as(path).isEqualTo("no-referrer");
      assertThat(a.header("Content-Security-Policy")).as(path)
          .contains("default-src 'none'", "script-src 'self'", "connect-src 'self'",
              "frame-ancestors 'none'");
    }
    assertThat(RawHttp.send(base, get("/dashboard.js", "Range: bytes=0-10\r\n")).status())
        .isEqualTo(200);
    assertThat(RawHttp.send(base, get("/nope", "")).header("Server")).isNull();
    assertThat(RawHttp.send(base, get("//x", "")).header("Server")).isNull();
  }

  private int status(String request) throws Exception {
    return RawHttp.send(base, request).status();
  }

  /** A GET of {@code path} with a Host and {@code headers}. */
  private String get(String path, String headers) {
    return "GET " + path + " HTTP/1.1\r\nHost: " + base.getAuthority() + "\r\n" + headers + "\r\n";
  }

  private String upgrade(String path, String headers) {
    return upgradeWithKey(path, KEY, headers);
  }

  private String upgradeWithKey(String path, String key, String headers) {
    return "GET " + path + " HTTP/1.1\r\nHost: " + base.getAuthority() + "\r\n"
        + "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        + "Sec-WebSocket-Key: " + key + "\r\n" + headers + "\r\n";
  }
}
