package dev.fanout.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fanout.core.InMemoryStream;
import dev.fanout.core.Scope;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** What the check answers a page about its handshake, and what it never tells. */
class HandshakeCheckTest {
  private static final String PAGE = "https://ops.example.com";
  private FanoutNode node;

  /** Allows PAGE; a token "good" is allowed, "old" is expired, none is missing. */
  private FanoutNode node(Consumer<FanoutNode.Builder> settings) {
    FanoutNode.Builder b = FanoutNode.builder().stream(InMemoryStream.create())
        .allowedOrigins(List.of(PAGE))
        .authenticator(h -> {
          String token = h.parameter("token");
          return "good".equals(token) ? Authentication.allow("ops", Scope.all())
              : Authentication.unauthorized(token == null ? "token missing" : "token expired");
        });
    settings.accept(b);
    node = b.build().start();
    return node;
  }

  @AfterEach
  void stop() {
    if (node != null) {
      node.close();
    }
  }

  private static Handshake request(String query, String... headers) {
    Map<String, List<String>> h = new LinkedHashMap<>();
    for (int i = 0; i < headers.length; i += 2) {
      h.computeIfAbsent(headers[i], k -> new ArrayList<>()).add(headers[i + 1]);
    }
    return Handshake.of(URI.create("/ws/check" + query), h, null, null);
  }

  @Test
  void anAcceptedHandshakeIsSaidSoAndTheAllowedPageMayReadIt() {
    node(b -> {});
    HandshakeCheck.Answer a = HandshakeCheck.answer(node, request("?token=good", "Origin", PAGE));
    assertThat(a.status()).isEqualTo(200);
    assertThat(a.body()).isEqualTo("{\"accepted\":true}");
    assertThat(a.headers()).containsEntry("Access-Control-Allow-Origin", PAGE)
        .containsEntry("Access-Control-Allow-Credentials", "true")
        .containsEntry("Vary", "Origin").containsEntry("Cache-Control", "no-store");
  }

  @Test
  void aRefusalComesWithItsStatusAndReason() {
    node(b -> {});
    HandshakeCheck.Answer expired =
        HandshakeCheck.answer(node, request("?token=x", "Origin", PAGE));
    assertThat(expired.status()).isEqualTo(401);
    assertThat(expired.body())
        .isEqualTo("{\"accepted\":false,\"status\":401,\"reason\":\"token expired\"}");
    assertThat(HandshakeCheck.answer(node, request("", "Origin", PAGE)).body())
        .contains("token missing");
  }

  @Test
  void anotherOriginLearnsOnlyThatItIsNotAllowedWhateverItsCredentials() {
    node(b -> {});
    String evil = "https://evil.example";
    for (String query : new String[] {"?token=good", "?token=x", ""}) {
      HandshakeCheck.Answer a = HandshakeCheck.answer(node, request(query, "Origin", evil));
      assertThat(a.status()).as(query).isEqualTo(403);
      assertThat(a.body()).as(query)
          .isEqualTo("{\"accepted\":false,\"status\":403,\"reason\":\"origin not allowed\"}");
      // readable by that page, so it can say why instead of retrying
      assertThat(a.headers()).containsEntry("Access-Control-Allow-Origin", evil);
    }
  }

  @Test
  void aSameOriginCheckIsJudgedByThePagesClaimedOriginOnlyWhenOriginIsMissing() {
    node(b -> b.allowMissingOrigin(true));
    String header = HandshakeCheck.PAGE_ORIGIN_HEADER;
    // a page reached under a name not on the list: its WebSocket gets 403, and so does its check
    assertThat(HandshakeCheck.answer(node,
        request("?token=good", header, "http://other-name:8080")).status()).isEqualTo(403);
    assertThat(HandshakeCheck.answer(node, request("?token=good", header, PAGE)).status())
        .isEqualTo(200);
    // the browser's Origin wins over a claim
    assertThat(HandshakeCheck.answer(node,
        request("?token=good", "Origin", PAGE, header, "http://other-name:8080")).status())
        .isEqualTo(200);
    // no Origin and no claim: a non-browser client, judged as its handshake is
    assertThat(HandshakeCheck.answer(node, request("?token=good")).status()).isEqualTo(200);
  }

  @Test
  void refusalsThatMayHealAre503() {
    node(b -> b.maxConnections(1));
    node.open(Authentication.allow("ops", Scope.all()), null, new InMemorySocket());
    HandshakeCheck.Answer full =
        HandshakeCheck.answer(node, request("?token=good", "Origin", PAGE));
    assertThat(full.status()).isEqualTo(503);
    assertThat(full.body()).contains("connection limit reached");
    node.shutdown(Duration.ZERO);
    assertThat(HandshakeCheck.answer(node, request("?token=good", "Origin", PAGE)).body())
        .contains("\"status\":503", "server shutting down");
  }

  @Test
  void twoOriginsOrAMalformedOneGetNoCorsHeaders() {
    node(b -> {});
    HandshakeCheck.Answer two = HandshakeCheck.answer(node,
        request("?token=good", "Origin", PAGE, "Origin", "https://evil.example"));
    assertThat(two.status()).isEqualTo(403);
    assertThat(two.headers()).doesNotContainKey("Access-Control-Allow-Origin");
    assertThat(HandshakeCheck.answer(node, request("", "Origin", "null")).headers())
        .doesNotContainKey("Access-Control-Allow-Origin");
  }

  @Test
  void aCheckIsNotCountedAsARefusedHandshake() {
    node(b -> {});
    HandshakeCheck.answer(node, request("", "Origin", "https://evil.example"));
    assertThat(node.refusedHandshakes()).isEmpty();
    node.check(request("", "Origin", "https://evil.example"));
    assertThat(node.refusedHandshakes()).containsEntry("403 origin not allowed", 1L);
  }
}
