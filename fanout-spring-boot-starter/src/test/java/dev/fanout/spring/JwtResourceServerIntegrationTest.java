package dev.fanout.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.gson.JsonObject;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.fanout.client.ProtocolClient;
import dev.fanout.core.Publisher;
import dev.fanout.protocol.Authenticator;
import java.net.URI;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.security.interfaces.RSAPublicKey;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Bean;
import org.springframework.security.config.Customizer;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.oauth2.jwt.JwtDecoder;
import org.springframework.security.oauth2.jwt.NimbusJwtDecoder;
import org.springframework.security.web.SecurityFilterChain;

/**
 * A Spring Security OAuth2 resource server (RS256, its {@link JwtDecoder} built from the public
 * key) with the starter and fanout-jwt, and no fanout.jwt key: the feed verifies tokens with the
 * application's decoder and scopes each connection by the token's claim. Tokens are real JWTs
 * minted here with nimbus-jose-jwt; the clients are real WebSocket clients on loopback.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
    classes = JwtResourceServerIntegrationTest.ResourceServer.class,
    properties = {"spring.autoconfigure.exclude=" + ContainerTuningIntegrationTest.JETTY,
        "fanout.jwt.scope-claim=merchants", "logging.level.dev.fanout=DEBUG"})
@ExtendWith(OutputCaptureExtension.class)
class JwtResourceServerIntegrationTest {
  static final KeyPair KEYS = rsa();
  static final KeyPair OTHER_KEYS = rsa();

  /** The application: everything but the feed needs a token; the feed checks its own. */
  @SpringBootConfiguration(proxyBeanMethods = false)
  @EnableAutoConfiguration
  static class ResourceServer {
    @Bean
    JwtDecoder jwtDecoder() {
      return NimbusJwtDecoder.withPublicKey((RSAPublicKey) KEYS.getPublic()).build();
    }

    /**
     * {@code /ws} is let through Spring Security: browsers bring their token in a cookie, which
     * Spring's bearer filter does not read, and fanout checks every handshake itself.
     */
    @Bean
    SecurityFilterChain security(HttpSecurity http) throws Exception {
      return http.authorizeHttpRequests(a -> a.requestMatchers("/ws").permitAll()
              .anyRequest().authenticated())
          .oauth2ResourceServer(o -> o.jwt(Customizer.withDefaults()))
          .build();
    }
  }

  @LocalServerPort
  int port;

  @Autowired
  Publisher publisher;

  @Autowired
  Authenticator authenticator;

  private final List<String> tokens = new ArrayList<>();
  private final List<ProtocolClient> clients = new ArrayList<>();

  @AfterEach
  void noTokenWasLogged(CapturedOutput output) {
    clients.forEach(ProtocolClient::close);
    for (String token : tokens) {
      String[] parts = token.split("\\.");
      assertThat(output.getAll()).as("the log").doesNotContain(token)
          .doesNotContain(parts[1]).doesNotContain(parts[2]);
    }
  }

  static KeyPair rsa() {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
      g.initialize(2048);
      return g.generateKeyPair();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  String token(PrivateKey key, String subject, Object merchants, Instant expires)
      throws JOSEException {
    SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.RS256), new JWTClaimsSet.Builder()
        .subject(subject).claim("merchants", merchants)
        .issueTime(Date.from(expires.minus(Duration.ofHours(1))))
        .expirationTime(Date.from(expires)).build());
    jwt.sign(new RSASSASigner(key));
    String token = jwt.serialize();
    tokens.add(token);
    return token;
  }

  String token(String subject, Object merchants) throws JOSEException {
    return token(KEYS.getPrivate(), subject, merchants, Instant.now().plus(Duration.ofHours(1)));
  }

  URI ws() {
    return URI.create("ws://127.0.0.1:" + port + "/ws");
  }

  ProtocolClient connect(Map<String, String> headers) throws Exception {
    ProtocolClient c = ProtocolClient.connect(ws(), headers);
    clients.add(c);
    return c;
  }

  @Test
  void theApplicationsJwtDecoderChecksTheFeedsTokens() {
    assertThat(authenticator).isInstanceOf(DecoderAuthenticator.class);
  }

  @Test
  void aTokenScopedToOneMerchantSeesOnlyThatMerchantsEventsInTheSnapshotAndLive()
      throws Exception {
    String before1 = publisher.publish("mch_1", Map.of(), "{\"n\":\"before-1\"}").toString();
    String before2 = publisher.publish("mch_2", Map.of(), "{\"n\":\"before-2\"}").toString();
    ProtocolClient acme = connect(Map.of("Authorization",
        "Bearer " + token("acme", List.of("mch_1"))));
    ProtocolClient ops = connect(Map.of("Cookie", "fanout_token=" + token("ops", "*")));
    acme.send("{\"type\":\"subscribe\"}"); // every merchant it may see
    ops.send("{\"type\":\"subscribe\"}");
    acme.nextOfType("subscribed");
    ops.nextOfType("subscribed");
    await().until(() -> acme.eventIds().contains(before1)
        && ops.eventIds().containsAll(List.of(before1, before2)));
    String live2 = publisher.publish("mch_2", Map.of(), "{\"n\":\"live-2\"}").toString();
    String live1 = publisher.publish("mch_1", Map.of(), "{\"n\":\"live-1\"}").toString();
    await().until(() -> acme.eventIds().contains(live1) && ops.eventIds().contains(live1));
    assertThat(acme.eventIds()).doesNotContain(before2, live2);
    assertThat(ops.eventIds()).contains(live2);

    acme.send("{\"type\":\"subscribe\",\"topics\":[\"mch_2\"]}"); // outside its scope
    JsonObject error = acme.nextOfType("error");
    assertThat(error.get("code").getAsString()).isEqualTo("forbidden");
  }

  @Test
  void anExpiredTokenIsRefusedWith401() throws Exception {
    String expired = token(KEYS.getPrivate(), "acme", List.of("mch_1"),
        Instant.now().minus(Duration.ofMinutes(10)));
    // in a cookie only fanout reads it: its own refusal, before any upgrade
    ProtocolClient.Answer cookie = ProtocolClient.answer(ws(),
        Map.of("Cookie", "fanout_token=" + expired));
    assertThat(cookie.status()).isEqualTo(401);
    assertThat(cookie.body()).contains("invalid token");
    // in the header Spring Security's bearer filter refuses it first, as anywhere in the app
    assertThat(ProtocolClient.status(ws(), Map.of("Authorization", "Bearer " + expired)))
        .isEqualTo(401);
  }

  @Test
  void aTokenSignedWithAnotherKeyOrNoTokenIsRefused() throws Exception {
    String forged = token(OTHER_KEYS.getPrivate(), "acme", "*",
        Instant.now().plus(Duration.ofHours(1)));
    ProtocolClient.Answer answer = ProtocolClient.answer(ws(),
        Map.of("Cookie", "fanout_token=" + forged));
    assertThat(answer.status()).isEqualTo(401);
    assertThat(answer.body()).contains("invalid token");
    ProtocolClient.Answer none = ProtocolClient.answer(ws(), Map.of());
    assertThat(none.status()).isEqualTo(401);
    assertThat(none.body()).contains("token missing");
  }

  @Test
  void aValidTokenWithoutTheScopeClaimIsForbidden() throws Exception {
    SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.RS256), new JWTClaimsSet.Builder()
        .subject("nobody").expirationTime(Date.from(Instant.now().plusSeconds(600))).build());
    jwt.sign(new RSASSASigner(KEYS.getPrivate()));
    tokens.add(jwt.serialize());
    ProtocolClient.Answer answer = ProtocolClient.answer(ws(),
        Map.of("Cookie", "fanout_token=" + jwt.serialize()));
    assertThat(answer.status()).isEqualTo(403);
    assertThat(answer.body()).contains("no topics granted");
  }
}
