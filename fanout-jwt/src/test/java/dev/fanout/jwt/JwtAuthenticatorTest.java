package dev.fanout.jwt;

import static dev.fanout.jwt.ScopeClaimTest.refused;
import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.PlainHeader;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import dev.fanout.core.Scope;
import dev.fanout.protocol.Authentication;
import dev.fanout.protocol.Handshake;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The checks on one token, with a secret or a PEM public key: no network, a clock we move. */
class JwtAuthenticatorTest {
  private static final TestTokens.Key RSA = TestTokens.Key.rsa("r1");
  private static final TestTokens.Key EC = TestTokens.Key.ec("e1");
  private static final TestTokens.Key ED = TestTokens.Key.ed25519("d1");

  private final MutableClock clock = MutableClock.atSomeSecond();
  private final Instant now = clock.instant();

  private JwtAuthenticator hs256() {
    return JwtAuthenticator.builder().secret(TestTokens.SECRET).clock(clock).build();
  }

  private JwtAuthenticator pem(TestTokens.Key key) {
    return JwtAuthenticator.builder().publicKey(key.pem()).clock(clock).build();
  }

  private static Authentication bearer(JwtAuthenticator auth, String token) {
    return auth.authenticate(Handshake.of(URI.create("/ws"),
        Map.of("Authorization", List.of("Bearer " + token)), null, null));
  }

  private static void allowed(Authentication a, Scope scope) {
    assertThat(a.allowed()).as("%s", a).isTrue();
    assertThat(a.principal()).isEqualTo("ops-1");
    assertThat(a.scope()).isEqualTo(scope);
  }

  @Test
  void eachAlgorithmAcceptsItsOwnTokensUntilTheirExpiryAndTheSkew() {
    Instant exp = now.plusSeconds(60).plus(Duration.ofSeconds(60));
    Authentication hs = bearer(hs256(), TestTokens.hs256(TestTokens.claims(now).build()));
    allowed(hs, Scope.of("mch_1"));
    assertThat(hs.expiresAt()).isEqualTo(exp);
    for (TestTokens.Key key : List.of(RSA, EC, ED)) {
      JwtAuthenticator auth = pem(key);
      assertThat(auth.algorithms()).containsExactly(key.algorithm);
      Authentication a = bearer(auth, key.sign(TestTokens.claims(now).build()));
      allowed(a, Scope.of("mch_1"));
      assertThat(a.expiresAt()).isEqualTo(exp);
    }
  }

  @Test
  void aStarScopeGrantsEveryTopicAndAnotherClaimNameCanBeRead() {
    JwtAuthenticator auth = JwtAuthenticator.builder().secret(TestTokens.SECRET)
        .scopeClaim("merchants").clock(clock).build();
    allowed(bearer(auth, TestTokens.hs256(TestTokens.claims(now).claim("merchants", "*")
        .build())), Scope.all());
    allowed(bearer(auth, TestTokens.hs256(TestTokens.claims(now)
        .claim("merchants", List.of("mch_1")).build())), Scope.of("mch_1"));
    // "topics" is no longer read
    refused(bearer(auth, TestTokens.hs256(TestTokens.claims(now).build())),
        JwtRefusal.NO_TOPICS, 403);
  }

  @Test
  void aScopeClaimOfTheWrongTypeIsForbidden() {
    for (Object wrong : List.of("mch_1", 7, Map.of("mch_1", true), List.of(1, 2))) {
      refused(bearer(hs256(), TestTokens.hs256(TestTokens.claims(now)
          .claim(ScopeClaim.DEFAULT_NAME, wrong).build())), JwtRefusal.INVALID_SCOPE_CLAIM, 403);
    }
  }

  @Test
  void expiryIsCheckedWithTheClockSkew() {
    JwtAuthenticator auth = hs256();
    String token = TestTokens.hs256(TestTokens.claims(now).build()); // exp = now + 60 s
    clock.advance(Duration.ofSeconds(60 + 59));
    Authentication late = bearer(auth, token); // within the default 60 s skew
    assertThat(late.allowed()).isTrue();
    assertThat(late.expiresAt()).isEqualTo(clock.instant().plusSeconds(1)); // exp + skew
    clock.advance(Duration.ofSeconds(1));
    refused(bearer(auth, token), JwtRefusal.TOKEN_EXPIRED, 401);
    JwtAuthenticator strict = JwtAuthenticator.builder().secret(TestTokens.SECRET).clock(clock)
        .clockSkew(Duration.ZERO).build();
    String fresh = TestTokens.hs256(TestTokens.claims(clock.instant()).build());
    clock.advance(Duration.ofSeconds(59));
    Authentication lastSecond = bearer(strict, fresh);
    assertThat(lastSecond.allowed()).isTrue();
    assertThat(lastSecond.expiresAt()).isEqualTo(clock.instant().plusSeconds(1)); // exp itself
    clock.advance(Duration.ofSeconds(1));
    refused(bearer(strict, fresh), JwtRefusal.TOKEN_EXPIRED, 401);
  }

  @Test
  void aTokenFromTheFutureIsNotYetValid() {
    JwtAuthenticator auth = hs256();
    String nbf = TestTokens.hs256(TestTokens.claims(now)
        .notBeforeTime(Date.from(now.plusSeconds(61))).build());
    String iat = TestTokens.hs256(TestTokens.claims(now.plusSeconds(61)).build());
    refused(bearer(auth, nbf), JwtRefusal.TOKEN_NOT_YET_VALID, 401);
    refused(bearer(auth, iat), JwtRefusal.TOKEN_NOT_YET_VALID, 401);
    clock.advance(Duration.ofSeconds(1)); // now within the skew
    assertThat(bearer(auth, nbf).allowed()).isTrue();
    assertThat(bearer(auth, iat).allowed()).isTrue();
  }

  @Test
  void issuerAndAudienceMustMatchWhenConfigured() {
    JwtAuthenticator auth = JwtAuthenticator.builder().secret(TestTokens.SECRET).clock(clock)
        .issuer("https://login.example.com/").audience("payments-feed").build();
    JWTClaimsSet.Builder ok = TestTokens.claims(now).issuer("https://login.example.com/");
    assertThat(bearer(auth, TestTokens.hs256(ok.audience("payments-feed").build())).allowed())
        .isTrue();
    assertThat(bearer(auth, TestTokens.hs256(ok.audience(List.of("other", "payments-feed"))
        .build())).allowed()).isTrue();
    refused(bearer(auth, TestTokens.hs256(ok.audience("other").build())),
        JwtRefusal.WRONG_AUDIENCE, 401);
    refused(bearer(auth, TestTokens.hs256(ok.audience((String) null).build())),
        JwtRefusal.WRONG_AUDIENCE, 401);
    JWTClaimsSet.Builder forUs = TestTokens.claims(now).audience("payments-feed");
    refused(bearer(auth, TestTokens.hs256(forUs.issuer("https://login.example.com").build())),
        JwtRefusal.WRONG_ISSUER, 401);
    refused(bearer(auth, TestTokens.hs256(forUs.issuer(null).build())),
        JwtRefusal.WRONG_ISSUER, 401);
    // not configured: not checked
    assertThat(bearer(hs256(), TestTokens.hs256(TestTokens.claims(now).issuer("anyone")
        .audience("anything").build())).allowed()).isTrue();
  }

  @Test
  void aBadSignatureIsAnInvalidToken() {
    JWTClaimsSet claims = TestTokens.claims(now).build();
    String wrongSecret = TestTokens.hs256(new JWSHeader.Builder(JWSAlgorithm.HS256).build(),
        claims, "another-secret-of-32-bytes-or-more!!".getBytes(StandardCharsets.UTF_8));
    refused(bearer(hs256(), wrongSecret), JwtRefusal.INVALID_TOKEN, 401);
    String good = TestTokens.hs256(claims);
    String[] parts = good.split("\\.");
    String otherClaims = TestTokens.hs256(TestTokens.claims(now).subject("admin").build());
    String spliced = TestTokens.record(parts[0] + "." + otherClaims.split("\\.")[1] + "."
        + parts[2]);
    refused(bearer(hs256(), spliced), JwtRefusal.INVALID_TOKEN, 401);
    for (TestTokens.Key key : List.of(RSA, EC, ED)) {
      TestTokens.Key impostor = TestTokens.Key.of(key.algorithm, key.kid);
      refused(bearer(pem(key), impostor.sign(claims)), JwtRefusal.INVALID_TOKEN, 401);
    }
  }

  @Test
  void algNoneIsRefusedWithOrWithoutASignature() {
    JWTClaimsSet claims = TestTokens.claims(now).build();
    String plain = TestTokens.record(new PlainJWT(new PlainHeader.Builder()
        .type(JOSEObjectType.JWT).build(), claims).serialize());
    String withSignature = TestTokens.raw("{\"alg\":\"none\"}", claims,
        TestTokens.hs256(claims).split("\\.")[2]);
    for (JwtAuthenticator auth : List.of(hs256(), pem(RSA))) {
      refused(bearer(auth, plain), JwtRefusal.INVALID_TOKEN, 401);
      refused(bearer(auth, withSignature), JwtRefusal.INVALID_TOKEN, 401);
    }
  }

  @Test
  void anHs256TokenSignedWithThePublicKeyIsRefused() {
    JWTClaimsSet claims = TestTokens.claims(now).build();
    JWSHeader hs = new JWSHeader.Builder(JWSAlgorithm.HS256).keyID(RSA.kid).build();
    String withDer = TestTokens.hs256(hs, claims, RSA.publicKey().getEncoded());
    String withPem = TestTokens.hs256(hs, claims, RSA.pem().getBytes(StandardCharsets.US_ASCII));
    JwtAuthenticator auth = pem(RSA);
    refused(bearer(auth, withDer), JwtRefusal.INVALID_TOKEN, 401);
    refused(bearer(auth, withPem), JwtRefusal.INVALID_TOKEN, 401);
    // the same RSA authenticator takes a real RS256 token: only the algorithm is refused
    assertThat(bearer(auth, RSA.sign(claims)).allowed()).isTrue();
  }

  @Test
  void anAlgorithmThatIsNotPinnedIsRefusedEvenWithAMatchingKey() {
    JWTClaimsSet claims = TestTokens.claims(now).build();
    refused(bearer(pem(EC), RSA.sign(claims)), JwtRefusal.INVALID_TOKEN, 401);
    refused(bearer(hs256(), ED.sign(claims)), JwtRefusal.INVALID_TOKEN, 401);
  }

  @Test
  void headersThatBringKeysOrRulesFromElsewhereAreRefused() {
    JWTClaimsSet claims = TestTokens.claims(now).build();
    byte[] secret = TestTokens.SECRET.getBytes(StandardCharsets.UTF_8);
    List<JWSHeader> headers = List.of(
        new JWSHeader.Builder(JWSAlgorithm.HS256)
            .jwkURL(URI.create("https://attacker.example/jwks.json")).build(),
        new JWSHeader.Builder(JWSAlgorithm.HS256)
            .x509CertURL(URI.create("https://attacker.example/cert.pem")).build(),
        new JWSHeader.Builder(JWSAlgorithm.HS256).jwk(RSA.jwk()).build(),
        new JWSHeader.Builder(JWSAlgorithm.HS256).criticalParams(Set.of("urn:x:policy"))
            .customParam("urn:x:policy", "strict").build());
    for (JWSHeader header : headers) {
      refused(bearer(hs256(), TestTokens.hs256(header, claims, secret)),
          JwtRefusal.INVALID_TOKEN, 401);
    }
    // the same claims and secret without those headers pass
    assertThat(bearer(hs256(), TestTokens.hs256(new JWSHeader.Builder(JWSAlgorithm.HS256)
        .keyID("any").type(JOSEObjectType.JWT).build(), claims, secret)).allowed()).isTrue();
  }

  @Test
  void a64KibTokenIsRefusedAsTooLargeBeforeItIsRead() {
    // validly signed: only its size can refuse it
    String big = TestTokens.hs256(TestTokens.claims(now)
        .claim("padding", "p".repeat(64 * 1024)).build());
    assertThat(big.length()).isGreaterThan(64 * 1024);
    refused(bearer(hs256(), big), JwtRefusal.TOKEN_TOO_LARGE, 401);
    refused(hs256().verify(big), JwtRefusal.TOKEN_TOO_LARGE, 401);
    JwtAuthenticator roomy = JwtAuthenticator.builder().secret(TestTokens.SECRET).clock(clock)
        .tokenSources(TokenSources.defaults().maxTokenBytes(TokenSources.MAX_TOKEN_BYTES_LIMIT))
        .build();
    String justUnder = TestTokens.hs256(TestTokens.claims(now)
        .claim("padding", "p".repeat(40 * 1024)).build());
    assertThat(bearer(roomy, justUnder).allowed()).isTrue();
    refused(bearer(hs256(), justUnder), JwtRefusal.TOKEN_TOO_LARGE, 401);
  }

  @Test
  void malformedTokensAreInvalid() {
    String good = TestTokens.hs256(TestTokens.claims(now).build());
    String[] p = good.split("\\.");
    for (String bad : List.of("abc", p[0] + "." + p[1], p[0] + "." + p[1] + ".", good + ".x",
        p[0] + ".." + p[2], good.substring(0, 5) + "+" + good.substring(6), "e30.e30.e30",
        "%%%.%%%.%%%", " " + good)) {
      refused(hs256().verify(bad), JwtRefusal.INVALID_TOKEN, 401);
    }
  }

  @Test
  void aDeeplyNestedHeaderIsInvalidNotAStackOverflow() {
    JwtAuthenticator roomy = JwtAuthenticator.builder().secret(TestTokens.SECRET).clock(clock)
        .tokenSources(TokenSources.defaults().maxTokenBytes(TokenSources.MAX_TOKEN_BYTES_LIMIT))
        .build();
    int depth = 20_000; // the header is parsed before the signature is checked: anyone's input
    String header = "{\"alg\":\"HS256\",\"x\":" + "[".repeat(depth) + "]".repeat(depth) + "}";
    String token = TestTokens.raw(header, TestTokens.claims(now).build(), "c2lnbmF0dXJl");
    assertThat(token.length()).isLessThan(TokenSources.MAX_TOKEN_BYTES_LIMIT);
    refused(roomy.verify(token), JwtRefusal.INVALID_TOKEN, 401);
  }

  @Test
  void aTokenWithoutExpiryOrSubjectIsInvalid() {
    refused(bearer(hs256(), TestTokens.hs256(TestTokens.claims(now).expirationTime(null)
        .build())), JwtRefusal.INVALID_TOKEN, 401);
    refused(bearer(hs256(), TestTokens.hs256(TestTokens.claims(now).subject(null).build())),
        JwtRefusal.INVALID_TOKEN, 401);
    long exp = now.getEpochSecond() + 60;
    String base = "{\"sub\":\"ops-1\",\"topics\":[\"mch_1\"],";
    assertThat(bearer(hs256(), TestTokens.hs256Json(base + "\"exp\":" + exp + "}")).allowed())
        .isTrue();
    refused(bearer(hs256(), TestTokens.hs256Json(base + "\"exp\":\"" + exp + "\"}")),
        JwtRefusal.INVALID_TOKEN, 401);
    refused(bearer(hs256(), TestTokens.hs256Json(base + "\"exp\":" + exp + ",\"iss\":7}")),
        JwtRefusal.INVALID_TOKEN, 401);
    refused(bearer(hs256(), TestTokens.hs256Json("[1,2]")), JwtRefusal.INVALID_TOKEN, 401);
  }

  @Test
  void whereTheTokenTravelsIsTheSourcesRule() {
    String token = TestTokens.hs256(TestTokens.claims(now).build());
    JwtAuthenticator auth = hs256();
    assertThat(auth.authenticate(Handshake.of(URI.create("/ws"),
        Map.of("Cookie", List.of("fanout_token=" + token)), null, null)).allowed()).isTrue();
    refused(auth.authenticate(Handshake.of(URI.create("/ws?token=" + token), Map.of(), null,
        null)), JwtRefusal.TOKEN_IN_URL, 401);
    refused(auth.authenticate(Handshake.of(URI.create("/ws"), Map.of(), null, null)),
        JwtRefusal.TOKEN_MISSING, 401);
    refused(auth.authenticate(Handshake.of(URI.create("/ws"), Map.of("Cookie",
        List.of("fanout_token=" + token), "Authorization", List.of("Bearer " + token)), null,
        null)), JwtRefusal.AMBIGUOUS_TOKEN, 401);
  }

  @Test
  void refusalReasonsAreAFixedSetThatNeverHoldsAToken() {
    assertThat(EnumSet.allOf(JwtRefusal.class)).allSatisfy(r -> {
      assertThat(r.reason()).matches("[A-Za-z ]+");
      assertThat(r.authentication().reason()).isEqualTo(r.reason());
      assertThat(r.authentication().status()).isEqualTo(r.status()).isIn(401, 403);
    });
    String token = TestTokens.hs256(TestTokens.claims(now).build());
    assertThat(hs256().toString()).doesNotContain(TestTokens.SECRET);
    assertThat(JwtRefusal.values()).extracting(JwtRefusal::reason)
        .noneMatch(r -> r.contains(token));
  }
}
