package dev.fanout.example;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.gson.JsonObject;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpServer;
import dev.fanout.client.ProtocolClient;
import dev.fanout.core.EventId;
import dev.fanout.core.Scope;
import dev.fanout.jwt.JwtAuthenticator;
import dev.fanout.jwt.Jwts;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * The example server with JWTs (issue 29), over real sockets: a token's scope on every path
 * (snapshot, live, resume), expiry (401 with its reason, 4003 on a live connection), issuer and
 * audience, no token in a URL, and /session, which hands the page its token in an HttpOnly
 * cookie. A subclass runs it all on Netty.
 */
class JwtIntegrationTest {
  /** The transport the servers of these tests run on; a subclass runs them all on Netty. */
  String transport() {
    return "jetty";
  }

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
    c.generator = false;
    c.shutdownSpread = Duration.ofMillis(50);
    c.transport = transport();
    c.jwt = TestJwts.authenticator();
    settings.accept(c);
    FeedServer s = FeedServer.start(c);
    open.add(s);
    return s;
  }

  private static URI ws(FeedServer s) {
    return URI.create("ws://127.0.0.1:" + s.port() + "/ws");
  }

  private static URI http(FeedServer s, String path) {
    return URI.create("http://127.0.0.1:" + s.port() + path);
  }

  private ProtocolClient connect(FeedServer s, Map<String, String> headers) throws Exception {
    ProtocolClient c = ProtocolClient.connect(ws(s), headers);
    open.add(c);
    return c;
  }

  private static String publish(FeedServer s, String merchant, int i) {
    EventId id = s.node().publish(merchant, Map.of("method", "card"),
        "{\"merchantId\":\"" + merchant + "\",\"paymentId\":\"p" + i + "\"}");
    return id.toString();
  }

  /** Publishes {@code n} events alternating mch_1, mch_2; returns the ids of mch_1's. */
  private static List<String> publishBoth(FeedServer s, int from, int n) {
    List<String> mine = new ArrayList<>();
    for (int i = from; i < from + n; i++) {
      String id = publish(s, i % 2 == 0 ? "mch_1" : "mch_2", i);
      if (i % 2 == 0) {
        mine.add(id);
      }
    }
    return mine;
  }

  @Test
  void aTokenScopedToMch1SeesOnlyMch1OnSnapshotLiveAndResume() throws Exception {
    FeedServer s = server(c -> {});
    List<String> expected = new ArrayList<>(publishBoth(s, 0, 10)); // the snapshot's
    String token = TestJwts.mint("ops-1", List.of("mch_1"), Duration.ofMinutes(5));
    ProtocolClient c = connect(s, TestJwts.bearer(token));
    c.send("{\"type\":\"subscribe\"}"); // every topic the scope allows
    await().until(() -> c.eventIds().size() == 5);
    assertThat(c.eventIds()).as("snapshot").isEqualTo(expected);

    expected.addAll(publishBoth(s, 10, 10));
    await().until(() -> c.eventIds().size() == 10);
    assertThat(c.eventIds()).as("snapshot, then live").isEqualTo(expected);
    assertThat(c.dataValues("merchantId")).containsOnly("mch_1");

    c.send("{\"type\":\"subscribe\",\"topics\":[\"mch_2\"]}");
    await().until(() -> c.sawFrame("\"code\":\"forbidden\""));
    assertThat(c.texts()).noneMatch(t -> t.contains(token.substring(token.lastIndexOf('.'))));

    c.close();
    List<String> missed = publishBoth(s, 20, 10);
    ProtocolClient back = connect(s, TestJwts.bearer(token));
    back.send("{\"type\":\"subscribe\",\"lastEventId\":\"" + expected.get(9) + "\"}");
    await().until(() -> back.eventIds().size() == 5);
    JsonObject subscribed = back.nextOfType("subscribed");
    assertThat(subscribed.get("recovered").getAsBoolean()).isTrue();
    assertThat(subscribed.get("missed").getAsInt()).as("only mch_1's count").isEqualTo(5);
    assertThat(back.eventIds()).as("resume").isEqualTo(missed);
    assertThat(back.dataValues("merchantId")).containsOnly("mch_1");

    String all = TestJwts.mint("ops-all", List.of(), Duration.ofMinutes(5)); // "*"
    ProtocolClient everything = connect(s, TestJwts.bearer(all));
    everything.send("{\"type\":\"subscribe\"}");
    await().until(() -> everything.eventIds().size() == 30);
    assertThat(everything.dataValues("merchantId")).containsOnly("mch_1", "mch_2");
  }

  @Test
  void anExpiredTokenIsRefusedWithItsReasonAndALiveConnectionIsClosedAtExpiry() throws Exception {
    FeedServer s = server(c -> {});
    ProtocolClient.Answer refused = ProtocolClient.answer(ws(s),
        TestJwts.bearer(TestJwts.expired("ops-old")));
    assertThat(refused.status()).isEqualTo(401);
    assertThat(refused.body()).contains("token expired");

    String shortLived = TestJwts.mint("ops-short", List.of("mch_1"), Duration.ofSeconds(2));
    ProtocolClient c = connect(s, TestJwts.bearer(shortLived));
    c.send("{\"type\":\"subscribe\"}");
    await().until(() -> c.sawFrame("\"type\":\"subscribed\""));
    assertThat(c.closed().get(10, TimeUnit.SECONDS)).as("close code").isEqualTo(4003);
    // back with the same token: refused before the upgrade, saying why
    ProtocolClient.Answer again = ProtocolClient.answer(ws(s), TestJwts.bearer(shortLived));
    assertThat(again.status()).isEqualTo(401);
    assertThat(again.body()).contains("token expired");
    assertThat(s.node().refusedHandshakes()).containsEntry("401 token expired", 2L);
  }

  @Test
  void aWrongIssuerOrAudienceOrSecretIsRefused() throws Exception {
    FeedServer s = server(c -> c.jwt = JwtAuthenticator.builder().secret(TestJwts.SECRET)
        .scopeClaim("merchants").issuer("https://login.example").audience("payments-feed")
        .build());
    Jwts.Minter minter = TestJwts.minter();
    Duration ttl = Duration.ofMinutes(5);
    Map<String, String> cases = new HashMap<>();
    cases.put(minter.audience("payments-feed").mint("a", Scope.all(), ttl), "wrong issuer");
    cases.put(minter.issuer("https://evil.example").audience("payments-feed")
        .mint("a", Scope.all(), ttl), "wrong issuer");
    cases.put(minter.issuer("https://login.example").mint("a", Scope.all(), ttl),
        "wrong audience");
    cases.put(minter.issuer("https://login.example").audience("other-feed")
        .mint("a", Scope.all(), ttl), "wrong audience");
    cases.put(Jwts.hs256("another-secret-of-at-least-32-bytes!").scopeClaim("merchants")
        .issuer("https://login.example").audience("payments-feed")
        .mint("a", Scope.all(), ttl), "invalid token");
    for (Map.Entry<String, String> bad : cases.entrySet()) {
      ProtocolClient.Answer a = ProtocolClient.answer(ws(s), TestJwts.bearer(bad.getKey()));
      assertThat(a.status()).as(bad.getValue()).isEqualTo(401);
      assertThat(a.body()).as(bad.getValue()).contains(bad.getValue());
    }
    String good = minter.issuer("https://login.example").audience("payments-feed")
        .mint("a", Scope.of("mch_1"), ttl);
    assertThat(ProtocolClient.status(ws(s), TestJwts.bearer(good))).isEqualTo(101);
  }

  @Test
  void aJwksUrlOrAPublicKeyFileTakesTheIdentityProvidersTokens() throws Exception {
    RSAKey rsa = new RSAKeyGenerator(2048).keyID("idp-1").generate();
    HttpServer idp = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    idp.createContext("/jwks.json", exchange -> {
      byte[] body = new JWKSet(rsa.toPublicJWK()).toString().getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(200, body.length);
      exchange.getResponseBody().write(body);
      exchange.close();
    });
    idp.start();
    open.add(() -> idp.stop(0));
    FeedServer s = serverWithFlags("--jwks-url", "http://127.0.0.1:" + idp.getAddress().getPort()
        + "/jwks.json", "--jwt-issuer", "https://login.example", "--jwt-audience", "feed");
    String token = sign(new RSASSASigner(rsa), JWSAlgorithm.RS256, "idp-1");
    ProtocolClient c = connect(s, TestJwts.bearer(token));
    c.send("{\"type\":\"subscribe\"}");
    await().until(() -> c.sawFrame("\"type\":\"subscribed\""));
    publish(s, "mch_2", 0);
    String mine = publish(s, "mch_1", 1);
    await().until(() -> c.eventIds().size() == 1);
    assertThat(c.eventIds()).containsExactly(mine);
    RSAKey stranger = new RSAKeyGenerator(2048).keyID("idp-1").generate();
    assertThat(ProtocolClient.answer(ws(s), TestJwts.bearer(
        sign(new RSASSASigner(stranger), JWSAlgorithm.RS256, "idp-1"))).body())
        .contains("invalid token");
    assertThat(ProtocolClient.answer(ws(s), TestJwts.bearer(TestJwts.minter()
        .issuer("https://login.example").audience("feed").mint("a", Scope.all(),
            Duration.ofMinutes(5)))).body()).as("HS256 on a JWKS server").contains("invalid token");

    ECKey ec = new ECKeyGenerator(Curve.P_256).generate();
    Path pem = Files.createTempFile("es256", ".pem");
    Files.writeString(pem, "-----BEGIN PUBLIC KEY-----\n" + Base64.getMimeEncoder()
        .encodeToString(ec.toECPublicKey().getEncoded()) + "\n-----END PUBLIC KEY-----\n");
    FeedServer p = serverWithFlags("--jwt-public-key", pem.toString(),
        "--jwt-issuer", "https://login.example", "--jwt-audience", "feed");
    assertThat(ProtocolClient.status(ws(p), TestJwts.bearer(
        sign(new ECDSASigner(ec), JWSAlgorithm.ES256, null)))).isEqualTo(101);
    assertThat(ProtocolClient.answer(ws(p), TestJwts.bearer(token)).body())
        .as("RS256 on an ES256 key").contains("invalid token");
  }

  /** The server as its command line makes it (JwtOptions and all), on a free loopback port. */
  private FeedServer serverWithFlags(String... flags) throws Exception {
    FeedServer.Config c = CommandLine.populateCommand(new ExampleServer(), flags).config();
    c.host = "127.0.0.1";
    c.port = 0;
    c.generator = false;
    c.warmupConnections = 0;
    c.shutdownSpread = Duration.ofMillis(50);
    c.transport = transport();
    FeedServer s = FeedServer.start(c);
    open.add(s);
    return s;
  }

  /** A token as an identity provider signs it: sub, merchants [mch_1], iss, aud, exp. */
  private static String sign(JWSSigner signer, JWSAlgorithm alg, String kid) throws Exception {
    SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(alg).keyID(kid).build(),
        new JWTClaimsSet.Builder().subject("ops-idp").claim("merchants", List.of("mch_1"))
            .issuer("https://login.example").audience("feed")
            .expirationTime(Date.from(Instant.now().plusSeconds(300))).build());
    jwt.sign(signer);
    return jwt.serialize();
  }

  @Test
  void aTokenInTheUrlIsRefusedAndNamesTheFix() throws Exception {
    FeedServer s = server(c -> {});
    String token = TestJwts.mint("ops", List.of(), Duration.ofMinutes(5));
    ProtocolClient.Answer a = ProtocolClient.answer(
        URI.create(ws(s) + "?token=" + token), Map.of());
    assertThat(a.status()).isEqualTo(401);
    assertThat(a.body()).contains("token in URL not allowed");
    assertThat(get(s, "/session?token=" + token, Map.of()).body())
        .contains("token in URL not allowed");
  }

  @Test
  void postingATokenToSessionSetsTheCookieTheHandshakeThenCarries() throws Exception {
    FeedServer s = server(c -> {});
    String origin = "http://127.0.0.1:" + s.port();
    String token = TestJwts.mint("ops-cookie", List.of("mch_1"), Duration.ofMinutes(5));
    HttpResponse<String> in = send(s, "POST", Map.of("Authorization", "Bearer " + token,
        "Origin", origin));
    assertThat(in.statusCode()).isEqualTo(200);
    assertThat(in.body()).startsWith("{\"principal\":\"ops-cookie\",\"merchants\":[\"mch_1\"],")
        .doesNotContain(token);
    String cookie = in.headers().firstValue("Set-Cookie").orElseThrow();
    assertThat(cookie).startsWith("fanout_token=" + token + "; Path=/; Max-Age=")
        .contains("; HttpOnly", "; SameSite=Strict").doesNotContain("Secure");
    long maxAge = Long.parseLong(cookie.replaceAll(".*Max-Age=(\\d+).*", "$1"));
    assertThat(maxAge).isBetween(295L, 300L); // the token's remaining life
    assertThat(in.headers().firstValue("Cache-Control")).hasValue("no-store");

    // behind a TLS proxy, or from an https page: Secure as well
    assertThat(send(s, "POST", Map.of("Authorization", "Bearer " + token,
        "X-Forwarded-Proto", "https")).headers().firstValue("Set-Cookie").orElseThrow())
        .contains("; Secure");

    Map<String, String> withCookie = Map.of("Cookie", "fanout_token=" + token, "Origin", origin);
    assertThat(get(s, "/session", withCookie).body()).contains("\"principal\":\"ops-cookie\"");
    publish(s, "mch_2", 0);
    String mine = publish(s, "mch_1", 1);
    ProtocolClient page = connect(s, withCookie);
    page.send("{\"type\":\"subscribe\"}");
    await().until(() -> page.eventIds().size() == 1);
    assertThat(page.eventIds()).containsExactly(mine);

    // a cookie and a header: two tokens, neither chosen
    Map<String, String> both = new HashMap<>(withCookie);
    both.put("Authorization", "Bearer " + token);
    assertThat(ProtocolClient.answer(ws(s), both).body()).contains("ambiguous token");

    HttpResponse<String> out = send(s, "DELETE", Map.of("Origin", origin, "Cookie",
        "fanout_token=" + token));
    assertThat(out.statusCode()).isEqualTo(200);
    assertThat(out.headers().firstValue("Set-Cookie")).hasValue(
        "fanout_token=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
  }

  @Test
  void sessionRefusesWhatItCannotCheckAndAnotherSitesPage() throws Exception {
    FeedServer s = server(c -> {});
    String token = TestJwts.mint("ops", List.of("mch_1"), Duration.ofMinutes(5));
    record Refused(String what, HttpResponse<String> answer, int status, String error) {}
    Map<String, String> evil = Map.of("Authorization", "Bearer " + token,
        "Origin", "https://evil.example");
    for (Refused r : List.of(
        new Refused("no token", send(s, "POST", Map.of()), 401, "token missing"),
        new Refused("expired", send(s, "POST",
            Map.of("Authorization", "Bearer " + TestJwts.expired("ops"))), 401, "token expired"),
        new Refused("malformed", send(s, "POST", Map.of("Authorization", "Bearer x.y.z")), 401,
            "invalid token"),
        new Refused("POST from elsewhere", send(s, "POST", evil), 403, "origin not allowed"),
        new Refused("DELETE from elsewhere", send(s, "DELETE", evil), 403,
            "origin not allowed"),
        new Refused("GET without a token", get(s, "/session", Map.of()), 401,
            "token missing"))) {
      assertThat(r.answer().statusCode()).as(r.what()).isEqualTo(r.status());
      assertThat(r.answer().body()).as(r.what())
          .isEqualTo("{\"error\":\"" + r.error() + "\"}");
      assertThat(r.answer().headers().firstValue("Set-Cookie")).as(r.what()).isEmpty();
    }
    // a page elsewhere asks first (a CORS preflight) before a POST with a header: refused
    HttpResponse<String> preflight = send(s, "OPTIONS", Map.of("Origin", "https://evil.example",
        "Access-Control-Request-Method", "POST",
        "Access-Control-Request-Headers", "authorization"));
    assertThat(preflight.statusCode()).isEqualTo(405);
    assertThat(preflight.headers().firstValue("Access-Control-Allow-Origin")).isEmpty();
    assertThat(preflight.headers().firstValue("Allow")).hasValue("DELETE, GET, HEAD, POST");
    assertThat(send(s, "PUT", Map.of()).statusCode()).isEqualTo(405);
  }

  @Test
  void withoutAuthenticationSessionSaysEveryoneSeesEverything() throws Exception {
    FeedServer s = server(c -> c.jwt = null);
    assertThat(get(s, "/session", Map.of()).body())
        .isEqualTo("{\"principal\":\"anonymous\",\"merchants\":\"*\",\"expiresAt\":null}");
    HttpResponse<String> post = send(s, "POST", Map.of("Authorization", "Bearer a.b.c"));
    assertThat(post.statusCode()).isEqualTo(404);
    assertThat(post.body()).contains("authentication is off");
  }

  private static HttpResponse<String> get(FeedServer s, String path, Map<String, String> headers)
      throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(http(s, path));
    headers.forEach(b::header);
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static HttpResponse<String> send(FeedServer s, String method,
      Map<String, String> headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(http(s, "/session"))
        .method(method, HttpRequest.BodyPublishers.noBody());
    headers.forEach(b::header);
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }
}
