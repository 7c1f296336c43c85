package dev.fanout.jwt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The builder fails fast with a message that says what to fix, and its settings read back. */
class JwtAuthenticatorBuilderTest {
  private static final TestTokens.Key RSA = TestTokens.Key.rsa("r1");

  @Test
  void exactlyOneKeySource() {
    assertThatThrownBy(() -> JwtAuthenticator.builder().build())
        .hasMessageContaining("exactly one of secret (HS256), publicKey (PEM) or jwksUrl, got 0");
    assertThatThrownBy(() -> JwtAuthenticator.builder().secret(TestTokens.SECRET)
        .publicKey(RSA.pem()).build()).hasMessageContaining("got 2");
  }

  @Test
  void aShortSecretIsRefused() {
    assertThatThrownBy(() -> JwtAuthenticator.builder().secret("only-16-bytes!!!"))
        .hasMessageContaining("at least 32 bytes").hasMessageContaining("got 16")
        .hasMessageContaining("openssl rand");
  }

  @Test
  void hs256NeverGoesWithAPublicKeyOrAJwks() {
    assertThatThrownBy(() -> JwtAuthenticator.builder().publicKey(RSA.pem())
        .algorithms(JwtAlgorithm.HS256).build()).hasMessageContaining("verifies RS256 only");
    assertThatThrownBy(() -> JwtAuthenticator.builder().jwksUrl("https://login.example/jwks")
        .algorithms(JwtAlgorithm.RS256, JwtAlgorithm.HS256).build())
        .hasMessageContaining("HS256 needs a shared secret");
    assertThatThrownBy(() -> JwtAuthenticator.builder().secret(TestTokens.SECRET)
        .algorithms(JwtAlgorithm.RS256).build()).hasMessageContaining("HS256 only");
  }

  @Test
  void unusablePublicKeysAreRefusedWithTheReason() throws Exception {
    KeyPairGenerator small = KeyPairGenerator.getInstance("RSA");
    small.initialize(1024);
    assertThatThrownBy(() -> JwtAuthenticator.builder()
        .publicKey(small.generateKeyPair().getPublic())).hasMessageContaining("1024 bits")
        .hasMessageContaining("at least 2048");
    KeyPairGenerator p384 = KeyPairGenerator.getInstance("EC");
    p384.initialize(new ECGenParameterSpec("secp384r1"));
    assertThatThrownBy(() -> JwtAuthenticator.builder()
        .publicKey(p384.generateKeyPair().getPublic())).hasMessageContaining("P-256");
    assertThatThrownBy(() -> JwtAuthenticator.builder().publicKey("MIIBIjANBgkqhkiG9w0B"))
        .hasMessageContaining("-----BEGIN PUBLIC KEY-----");
    assertThatThrownBy(() -> JwtAuthenticator.builder().publicKey(
        "-----BEGIN RSA PUBLIC KEY-----\nMIIB\n-----END RSA PUBLIC KEY-----"))
        .hasMessageContaining("openssl rsa -RSAPublicKey_in");
    assertThatThrownBy(() -> JwtAuthenticator.builder().publicKey(
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"))
        .hasMessageContaining("openssl x509");
    assertThatThrownBy(() -> JwtAuthenticator.builder().publicKey(
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"))
        .hasMessageContaining("not an RSA, EC or Ed25519 key");
  }

  @Test
  void jwksSettingsAreChecked() {
    assertThatThrownBy(() -> JwtAuthenticator.builder().jwksUrl("file:///etc/jwks.json"))
        .hasMessageContaining("absolute http(s) URL");
    assertThatThrownBy(() -> JwtAuthenticator.builder().jwksWait(Duration.ofSeconds(11)))
        .hasMessageContaining("at most 10 s");
    assertThatThrownBy(() -> JwtAuthenticator.builder().jwksRefreshInterval(Duration.ZERO))
        .hasMessageContaining("JWKS refresh interval must be positive");
    assertThatThrownBy(() -> JwtAuthenticator.builder().jwksUrl("https://login.example/jwks")
        .jwksRefreshInterval(Duration.ofMinutes(10)).build())
        .hasMessageContaining("max age (PT5M) must be at least the refresh interval (PT10M)");
    assertThatThrownBy(() -> JwtAuthenticator.builder().clockSkew(Duration.ofMinutes(6)))
        .hasMessageContaining("at most 5 minutes");
    assertThatThrownBy(() -> JwtAuthenticator.builder().issuer(" "))
        .hasMessageContaining("issuer must not be blank");
  }

  @Test
  void settingsReadBack() {
    JwtAuthenticator auth = JwtAuthenticator.builder()
        .jwksUrl(URI.create("https://login.example/jwks"))
        .algorithms(JwtAlgorithm.RS256, JwtAlgorithm.ES256, JwtAlgorithm.EdDSA)
        .issuer("https://login.example/").audience("feed").scopeClaim("merchants")
        .clockSkew(Duration.ofSeconds(5)).jwksWait(Duration.ZERO)
        .jwksRefreshInterval(Duration.ofSeconds(10)).jwksMaxAge(Duration.ofMinutes(1))
        .jwksTimeout(Duration.ofMillis(500))
        .tokenSources(TokenSources.bearerOnly()).build();
    assertThat(auth.algorithms()).containsExactly(JwtAlgorithm.RS256, JwtAlgorithm.ES256,
        JwtAlgorithm.EdDSA);
    assertThat(auth.jwksUrl()).contains(URI.create("https://login.example/jwks"));
    assertThat(auth.issuer()).contains("https://login.example/");
    assertThat(auth.audience()).contains("feed");
    assertThat(auth.scopeClaim().name()).isEqualTo("merchants");
    assertThat(auth.clockSkew()).isEqualTo(Duration.ofSeconds(5));
    assertThat(auth.jwksWait()).isZero();
    assertThat(auth.jwksRefreshInterval()).isEqualTo(Duration.ofSeconds(10));
    assertThat(auth.jwksMaxAge()).isEqualTo(Duration.ofMinutes(1));
    assertThat(auth.jwksTimeout()).isEqualTo(Duration.ofMillis(500));
    assertThat(auth.tokenSources().cookieName()).isEmpty();

    JwtAuthenticator defaults = JwtAuthenticator.builder().secret(TestTokens.SECRET).build();
    assertThat(defaults.algorithms()).containsExactly(JwtAlgorithm.HS256);
    assertThat(defaults.jwksUrl()).isEmpty();
    assertThat(defaults.issuer()).isEmpty();
    assertThat(defaults.audience()).isEmpty();
    assertThat(defaults.scopeClaim().name()).isEqualTo("topics");
    assertThat(defaults.clockSkew()).isEqualTo(Duration.ofSeconds(60));
    assertThat(defaults.tokenSources().cookieName()).contains("fanout_token");
    assertThat(defaults.tokenSources().queryParameterName()).isEmpty();
    assertThat(defaults.tokenSources().maxTokenBytes()).isEqualTo(8192);
    assertThat(defaults.toString()).doesNotContain(TestTokens.SECRET);
  }
}
