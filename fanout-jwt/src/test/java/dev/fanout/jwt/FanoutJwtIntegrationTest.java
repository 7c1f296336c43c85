package dev.fanout.jwt;

import static dev.fanout.client.ProtocolClient.answer;
import static dev.fanout.client.ProtocolClient.status;
import static org.assertj.core.api.Assertions.assertThat;

import dev.fanout.core.InMemoryStream;
import dev.fanout.core.Scope;
import dev.fanout.client.ProtocolClient;
import dev.fanout.netty.FanoutNettyServer;
import dev.fanout.protocol.FanoutNode;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A real node (in-memory stream) behind fanout-netty on loopback, authenticating with a
 * JwtAuthenticator, and a raw WebSocket client: the token's ways in, a refusal's status and
 * reason on the wire, and a connection closed with 4003 when its token expires.
 */
class FanoutJwtIntegrationTest {
  private final Jwts.Minter minter = Jwts.hs256(TestTokens.SECRET).scopeClaim("merchants");
  private FanoutNode node;
  private FanoutNettyServer server;

  private URI start(TokenSources sources) throws InterruptedException {
    node = FanoutNode.builder().stream(InMemoryStream.create(100))
        .authenticator(JwtAuthenticator.builder().secret(TestTokens.SECRET)
            .scopeClaim("merchants").clockSkew(Duration.ZERO).tokenSources(sources).build())
        .build().start();
    server = FanoutNettyServer.builder(node).host("127.0.0.1").port(0).start();
    return URI.create("ws://127.0.0.1:" + server.port() + "/ws");
  }

  @AfterEach
  void stop() {
    if (node != null) {
      node.close();
      server.close();
    }
  }

  private String token(Duration ttl) {
    return TestTokens.record(minter.mint("ops-1", Scope.of("mch_1"), ttl));
  }

  @Test
  void aBearerHeaderOrTheCookieGetsIn() throws Exception {
    URI ws = start(TokenSources.defaults());
    String token = token(Duration.ofMinutes(5));
    assertThat(status(ws, Map.of("Authorization", "Bearer " + token))).isEqualTo(101);
    assertThat(status(ws, Map.of("Cookie", "theme=dark; fanout_token=" + token)))
        .isEqualTo(101);
  }

  @Test
  void refusalsCarryTheirStatusAndReasonButNeverTheToken() throws Exception {
    URI ws = start(TokenSources.defaults());
    String expired = TestTokens.record(minter.clock(Clock.offset(Clock.systemUTC(),
        Duration.ofMinutes(-10))).mint("ops-1", Scope.of("mch_1"), Duration.ofMinutes(1)));
    ProtocolClient.Answer old = answer(ws, Map.of("Authorization", "Bearer " + expired));
    assertThat(old.status()).isEqualTo(401);
    assertThat(old.body().strip()).isEqualTo("token expired");

    ProtocolClient.Answer none = answer(ws, Map.of());
    assertThat(none.status()).isEqualTo(401);
    assertThat(none.body().strip()).isEqualTo("token missing");

    String token = token(Duration.ofMinutes(5));
    ProtocolClient.Answer two = answer(ws, Map.of("Authorization", "Bearer " + token,
        "Cookie", "fanout_token=" + token));
    assertThat(two.status()).isEqualTo(401);
    assertThat(two.body().strip()).isEqualTo("ambiguous token");

    String noTopics = TestTokens.record(minter.mint("ops-1", Scope.none(), Duration.ofMinutes(5)));
    ProtocolClient.Answer forbidden = answer(ws, Map.of("Authorization", "Bearer " + noTopics));
    assertThat(forbidden.status()).isEqualTo(403);
    assertThat(forbidden.body().strip()).isEqualTo("no topics granted");

    assertThat(node.refusedHandshakes()).containsEntry("401 token expired", 1L)
        .containsEntry("401 token missing", 1L).containsEntry("401 ambiguous token", 1L)
        .containsEntry("403 no topics granted", 1L);
    assertThat(node.refusedHandshakes().toString()).doesNotContain(token);
  }

  @Test
  void theQueryParameterIsRefusedUnlessEnabled() throws Exception {
    String token = token(Duration.ofMinutes(5));
    URI ws = start(TokenSources.defaults());
    ProtocolClient.Answer refused = answer(URI.create(ws + "?token=" + token), Map.of());
    assertThat(refused.status()).isEqualTo(401);
    assertThat(refused.body().strip()).isEqualTo("token in URL not allowed");
    stop();

    URI enabled = start(TokenSources.defaults().queryParameter("token"));
    assertThat(status(URI.create(enabled + "?token=" + token), Map.of())).isEqualTo(101);
  }

  @Test
  void aConnectionIsClosedWith4003WhenItsTokenExpires() throws Exception {
    URI ws = start(TokenSources.defaults());
    String shortLived = token(Duration.ofSeconds(3)); // exp is whole seconds: 2 to 3 s from now
    try (ProtocolClient conn = ProtocolClient.connect(ws,
        Map.of("Authorization", "Bearer " + shortLived))) {
      assertThat(conn.status()).isEqualTo(101);
      assertThat(conn.awaitClose()).isEqualTo(4003);
    }
    // the same token cannot come back (protocol.md: get fresh credentials)
    ProtocolClient.Answer again = answer(ws, Map.of("Authorization", "Bearer " + shortLived));
    assertThat(again.status()).isEqualTo(401);
    assertThat(again.body().strip()).isEqualTo("token expired");
  }
}
