package dev.fanout.jwt;

import static dev.fanout.jwt.ScopeClaimTest.refused;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jwt.JWTClaimsSet;
import dev.fanout.core.Scope;
import dev.fanout.protocol.Authentication;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Keys from a real JWKS endpoint (the JDK's HTTP server on loopback), under a clock the test
 * moves: rotation, an endpoint that is down or slow, and a flood of unknown kids.
 */
class JwksIntegrationTest {
  private static final Duration INTERVAL = Duration.ofSeconds(30);
  private static final Duration MAX_AGE = Duration.ofMinutes(5);

  private final MutableClock clock = MutableClock.atSomeSecond();
  private final TestTokens.Key oldKey = TestTokens.Key.rsa("2024-old");
  private final TestTokens.Key newKey = TestTokens.Key.rsa("2025-new");
  private JwksServer jwks;

  @BeforeEach
  void start() throws Exception {
    jwks = new JwksServer();
  }

  @AfterEach
  void stop() {
    jwks.close();
  }

  private JwtAuthenticator authenticator(Consumer<JwtAuthenticator.Builder> settings) {
    JwtAuthenticator.Builder b = JwtAuthenticator.builder().jwksUrl(jwks.url()).clock(clock)
        .jwksRefreshInterval(INTERVAL).jwksMaxAge(MAX_AGE).jwksWait(Duration.ofSeconds(5));
    settings.accept(b);
    JwtAuthenticator auth = b.build();
    // the first fetch, started by build(), has landed
    await().until(() -> ((JwksKeys) auth.keySource()).fetchesDone() == 1);
    assertThat(jwks.hits()).isEqualTo(1);
    return auth;
  }

  /** A token signed with {@code key}, valid for a day at the test clock's time. */
  private String token(TestTokens.Key key) {
    return key.sign(claims());
  }

  private JWTClaimsSet claims() {
    return TestTokens.claims(clock.instant()).expirationTime(Date.from(
        clock.instant().plus(Duration.ofDays(1)))).build();
  }

  @Test
  void keysRotateWithoutARestartAndAnOldKeyWorksUntilItLeavesTheJwks() {
    jwks.serve(oldKey.jwk());
    JwtAuthenticator auth = authenticator(b -> { });
    String old = token(oldKey);
    assertThat(auth.verify(old).allowed()).isTrue();

    // the issuer publishes a new key and signs with it; within the interval after the last
    // fetch it is unknown, and no fetch is made for it
    jwks.serve(oldKey.jwk(), newKey.jwk());
    String fresh = token(newKey);
    refused(auth.verify(fresh), JwtRefusal.UNKNOWN_SIGNING_KEY, 401);
    assertThat(jwks.hits()).isEqualTo(1);

    // an interval later the unknown kid causes one fetch, and the handshake waits for it
    clock.advance(INTERVAL);
    assertThat(auth.verify(fresh).allowed()).isTrue();
    assertThat(jwks.hits()).isEqualTo(2);
    assertThat(auth.verify(old).allowed()).isTrue(); // both keys now
    assertThat(jwks.hits()).isEqualTo(2);

    // the old key leaves the JWKS: it keeps verifying until the keys are MAX_AGE old, when a
    // handshake refreshes them in the background (without waiting for it) ...
    jwks.serve(newKey.jwk());
    clock.advance(MAX_AGE.minusSeconds(1));
    assertThat(auth.verify(old).allowed()).isTrue();
    assertThat(jwks.hits()).isEqualTo(2);
    clock.advance(Duration.ofSeconds(1));
    assertThat(auth.verify(old).allowed()).isTrue();
    await().until(() -> jwks.hits() == 3);
    // ... and then it is gone, while the new one goes on
    await().untilAsserted(() -> refused(auth.verify(old), JwtRefusal.UNKNOWN_SIGNING_KEY, 401));
    assertThat(auth.verify(fresh).allowed()).isTrue();
    assertThat(jwks.hits()).isEqualTo(3);
  }

  @Test
  void theKnownKeysKeepWorkingWhileTheEndpointFailsOrIsGone() {
    jwks.serve(oldKey.jwk());
    JwtAuthenticator auth = authenticator(b -> { });
    String old = token(oldKey);

    jwks.failing(true); // 503
    clock.advance(MAX_AGE);
    assertThat(auth.verify(old).allowed()).isTrue(); // starts a refresh, which fails
    await().until(() -> jwks.hits() == 2);
    assertThat(auth.verify(old).allowed()).isTrue();
    jwks.serveRaw("not json"); // 200 with garbage is a failure too
    jwks.failing(false);
    clock.advance(INTERVAL);
    assertThat(auth.verify(old).allowed()).isTrue();
    await().until(() -> jwks.hits() == 3);
    assertThat(auth.verify(old).allowed()).isTrue();

    jwks.close(); // connection refused from now on
    for (int i = 0; i < 3; i++) {
      clock.advance(MAX_AGE);
      assertThat(auth.verify(old).allowed()).isTrue();
    }
    refused(auth.verify(token(newKey)), JwtRefusal.UNKNOWN_SIGNING_KEY, 401);
    assertThat(auth.verify(old).allowed()).isTrue();
  }

  @Test
  void aFloodOfUnknownKidsCostsOneFetchPerInterval() throws Exception {
    jwks.serve(oldKey.jwk());
    JwtAuthenticator auth = authenticator(b -> { });
    TestTokens.Key stranger = TestTokens.Key.rsa("unused");
    JWTClaimsSet claims = claims();
    List<String> flood = new ArrayList<>();
    for (int i = 0; i < 400; i++) { // a kid of its own each: all unknown
      flood.add(TestTokens.sign(new JWSHeader.Builder(JWSAlgorithm.RS256)
          .keyID(UUID.randomUUID().toString()).build(), claims, stranger.signer()));
    }
    ExecutorService threads = Executors.newFixedThreadPool(8);
    try {
      assertThat(floodWith(threads, auth, flood)).isEqualTo(flood.size());
      assertThat(jwks.hits()).isEqualTo(1); // the first fetch was just now: none more

      clock.advance(INTERVAL);
      assertThat(floodWith(threads, auth, flood)).isEqualTo(flood.size());
      assertThat(jwks.hits()).isEqualTo(2);

      clock.advance(INTERVAL.dividedBy(2));
      assertThat(floodWith(threads, auth, flood)).isEqualTo(flood.size());
      assertThat(jwks.hits()).isEqualTo(2);

      clock.advance(INTERVAL.dividedBy(2));
      assertThat(floodWith(threads, auth, flood)).isEqualTo(flood.size());
      assertThat(jwks.hits()).isEqualTo(3);
      // the known key was never in the way
      assertThat(auth.verify(token(oldKey)).allowed()).isTrue();
    } finally {
      threads.shutdownNow();
    }
  }

  /** How many of {@code tokens}, checked from 8 threads at once, were refused as unknown. */
  private static int floodWith(ExecutorService threads, JwtAuthenticator auth,
      List<String> tokens) throws Exception {
    List<Callable<Boolean>> tasks = new ArrayList<>();
    for (String t : tokens) {
      tasks.add(() -> JwtRefusal.UNKNOWN_SIGNING_KEY.reason().equals(auth.verify(t).reason()));
    }
    int refused = 0;
    for (Future<Boolean> f : threads.invokeAll(tasks)) {
      refused += f.get() ? 1 : 0;
    }
    return refused;
  }

  @Test
  void aSlowEndpointHoldsAnUnknownKidForTheWaitAtMostAndAKnownOneNotAtAll() {
    jwks.serve(oldKey.jwk());
    Duration wait = Duration.ofSeconds(3);
    JwtAuthenticator auth = authenticator(b -> b.jwksWait(wait)
        .jwksTimeout(Duration.ofSeconds(20)));
    String old = token(oldKey);
    String fresh = token(newKey);
    jwks.serve(oldKey.jwk(), newKey.jwk());
    jwks.hang(); // answers only when released

    clock.advance(INTERVAL);
    long start = System.nanoTime();
    refused(auth.verify(fresh), JwtRefusal.UNKNOWN_SIGNING_KEY, 401);
    Duration waited = Duration.ofNanos(System.nanoTime() - start);
    assertThat(waited).isBetween(wait, Duration.ofSeconds(10));
    assertThat(jwks.hits()).isEqualTo(2); // the fetch is still hanging

    // a known kid does not wait for the hanging fetch, even with its keys past their age: all
    // 50 handshakes together take less than one wait
    clock.advance(MAX_AGE);
    start = System.nanoTime();
    for (int i = 0; i < 50; i++) {
      assertThat(auth.verify(old).allowed()).isTrue();
    }
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(wait);

    jwks.release(); // the hanging fetch lands: the new key is there without another fetch
    await().untilAsserted(() -> assertThat(auth.verify(fresh).allowed()).isTrue());
    assertThat(jwks.hits()).isEqualTo(2);
  }

  @Test
  void withNoWaitAnUnknownKidIsRefusedAtOnceAndAcceptedOnceTheFetchLands() {
    jwks.serve(oldKey.jwk());
    JwtAuthenticator auth = authenticator(b -> b.jwksWait(Duration.ZERO));
    jwks.serve(oldKey.jwk(), newKey.jwk());
    jwks.hang();
    clock.advance(INTERVAL);
    String fresh = token(newKey);
    refused(auth.verify(fresh), JwtRefusal.UNKNOWN_SIGNING_KEY, 401);
    jwks.release();
    await().untilAsserted(() -> assertThat(auth.verify(fresh).allowed()).isTrue());
    assertThat(jwks.hits()).isEqualTo(2);
  }

  @Test
  void everyAsymmetricAlgorithmVerifiesFromOneJwks() {
    TestTokens.Key ec = TestTokens.Key.ec("ec-1");
    TestTokens.Key ed = TestTokens.Key.ed25519("ed-1");
    jwks.serve(oldKey.jwk(), ec.jwk(), ed.jwk());
    JwtAuthenticator auth = authenticator(b -> b.algorithms(JwtAlgorithm.RS256,
        JwtAlgorithm.ES256, JwtAlgorithm.EdDSA));
    for (TestTokens.Key key : List.of(oldKey, ec, ed)) {
      Authentication a = auth.verify(token(key));
      assertThat(a.allowed()).as("%s", key.algorithm).isTrue();
      assertThat(a.scope()).isEqualTo(Scope.of("mch_1"));
    }
    // pinned to RS256 alone, the others are refused before any key is looked up
    JwtAuthenticator rsOnly = JwtAuthenticator.builder().jwksUrl(jwks.url()).clock(clock)
        .build();
    refused(rsOnly.verify(token(ec)), JwtRefusal.INVALID_TOKEN, 401);
    refused(rsOnly.verify(token(ed)), JwtRefusal.INVALID_TOKEN, 401);
  }

  @Test
  void aKeyIsUsedOnlyForItsOwnAlgorithmAndUse() {
    TestTokens.Key ec = TestTokens.Key.ec("shared-kid");
    JWK encryptionOnly = new RSAKey.Builder((RSAKey) oldKey.jwk()).keyUse(KeyUse.ENCRYPTION)
        .build();
    JWK wrongAlg = new RSAKey.Builder((RSAKey) newKey.jwk()).algorithm(JWSAlgorithm.PS256)
        .build();
    jwks.serve(encryptionOnly, wrongAlg, ec.jwk());
    JwtAuthenticator auth = authenticator(b -> b.algorithms(JwtAlgorithm.RS256,
        JwtAlgorithm.ES256).jwksWait(Duration.ZERO));
    refused(auth.verify(token(oldKey)), JwtRefusal.UNKNOWN_SIGNING_KEY, 401);
    refused(auth.verify(token(newKey)), JwtRefusal.UNKNOWN_SIGNING_KEY, 401);
    assertThat(auth.verify(token(ec)).allowed()).isTrue();
    // an RS256 token naming the EC key's kid finds no RS256 key under it
    String confused = TestTokens.sign(new JWSHeader.Builder(JWSAlgorithm.RS256)
        .keyID("shared-kid").build(), claims(), oldKey.signer());
    refused(auth.verify(confused), JwtRefusal.UNKNOWN_SIGNING_KEY, 401);
  }

  @Test
  void aTokenWithoutKidUsesTheOnlyKeyAndNeverGuessesBetweenTwo() {
    JWSHeader noKid = new JWSHeader.Builder(JWSAlgorithm.RS256).build();
    String token = TestTokens.sign(noKid, claims(), oldKey.signer());
    jwks.serve(oldKey.jwk());
    JwtAuthenticator auth = authenticator(b -> b.jwksWait(Duration.ZERO));
    assertThat(auth.verify(token).allowed()).isTrue();

    jwks.serve(oldKey.jwk(), newKey.jwk());
    clock.advance(MAX_AGE);
    assertThat(auth.verify(token).allowed()).isTrue(); // starts the refresh
    await().until(() -> jwks.hits() == 2);
    await().untilAsserted(() -> refused(auth.verify(token), JwtRefusal.UNKNOWN_SIGNING_KEY,
        401));
  }

  @Test
  void aJkuHeaderIsRefusedUnlessItIsTheConfiguredUrlAndIsNeverFetched() throws Exception {
    jwks.serve(oldKey.jwk());
    JwtAuthenticator auth = authenticator(b -> { });
    try (JwksServer elsewhere = new JwksServer()) {
      TestTokens.Key attacker = TestTokens.Key.rsa(oldKey.kid);
      elsewhere.serve(attacker.jwk());
      String forged = TestTokens.sign(new JWSHeader.Builder(JWSAlgorithm.RS256)
          .keyID(oldKey.kid).jwkURL(elsewhere.url()).build(), claims(), attacker.signer());
      refused(auth.verify(forged), JwtRefusal.INVALID_TOKEN, 401);
      String honest = TestTokens.sign(new JWSHeader.Builder(JWSAlgorithm.RS256)
          .keyID(oldKey.kid).jwkURL(elsewhere.url()).build(), claims(), oldKey.signer());
      refused(auth.verify(honest), JwtRefusal.INVALID_TOKEN, 401);
      assertThat(elsewhere.hits()).isZero();
    }
    String ours = TestTokens.sign(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(oldKey.kid)
        .jwkURL(jwks.url()).build(), claims(), oldKey.signer());
    assertThat(auth.verify(ours).allowed()).isTrue();
    assertThat(jwks.hits()).isEqualTo(1);
  }
}
