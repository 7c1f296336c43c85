package dev.fanout.example;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fanout.jwt.JwtAlgorithm;
import dev.fanout.jwt.JwtAuthenticator;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.time.Duration;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The server's JWT flags: what each builds, and one line naming the flag to fix for each
 * combination that cannot work, before anything starts.
 */
class JwtOptionsTest {
  private static final String SECRET = TestJwts.SECRET;

  @TempDir Path dir;

  private static JwtAuthenticator parse(String... args) {
    ExampleServer server = CommandLine.populateCommand(new ExampleServer(), args);
    return server.jwt.authenticator();
  }

  /** The server's command line, run: exit status and its standard error. */
  private static String refused(String... args) {
    StringWriter err = new StringWriter();
    CommandLine cmd = ExampleServer.commandLine();
    cmd.setErr(new PrintWriter(err, true));
    assertThat(cmd.execute(args)).as(String.join(" ", args)).isEqualTo(2);
    assertThat(err.toString().lines()).as(err.toString()).hasSize(1);
    return err.toString();
  }

  private Path pem(String algorithm, int bits) throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance(algorithm);
    if (bits > 0) {
      g.initialize(bits);
    }
    Path file = dir.resolve(algorithm + ".pem");
    Files.writeString(file, "-----BEGIN PUBLIC KEY-----\n" + Base64.getMimeEncoder()
        .encodeToString(g.generateKeyPair().getPublic().getEncoded())
        + "\n-----END PUBLIC KEY-----\n");
    return file;
  }

  @Test
  void noKeyFlagMeansNoAuthentication() {
    assertThat(parse()).isNull();
  }

  @Test
  void eachKeySourceBuildsItsAuthenticator() throws Exception {
    JwtAuthenticator hs = parse("--jwt-secret", SECRET, "--jwt-issuer", "https://login.example",
        "--jwt-audience", "feed", "--jwt-clock-skew", "10s");
    assertThat(hs.algorithms()).containsExactly(JwtAlgorithm.HS256);
    assertThat(hs.issuer()).hasValue("https://login.example");
    assertThat(hs.audience()).hasValue("feed");
    assertThat(hs.clockSkew()).isEqualTo(Duration.ofSeconds(10));
    assertThat(hs.scopeClaim().name()).isEqualTo("merchants");
    assertThat(hs.tokenSources().cookieName()).hasValue("fanout_token");
    assertThat(hs.tokenSources().queryParameterName()).isEmpty();

    assertThat(parse("--jwt-public-key", pem("RSA", 2048).toString()).algorithms())
        .containsExactly(JwtAlgorithm.RS256);
    assertThat(parse("--jwt-public-key", pem("EC", 256).toString()).algorithms())
        .containsExactly(JwtAlgorithm.ES256);
    assertThat(parse("--jwt-public-key", pem("Ed25519", 0).toString()).algorithms())
        .containsExactly(JwtAlgorithm.EdDSA);

    JwtAuthenticator jwks = parse("--jwks-url", "http://127.0.0.1:1/jwks.json",
        "--jwt-algorithms", "RS256,ES256", "--jwt-scope-claim", "topics");
    assertThat(jwks.algorithms()).containsExactlyInAnyOrder(JwtAlgorithm.RS256,
        JwtAlgorithm.ES256);
    assertThat(jwks.scopeClaim().name()).isEqualTo("topics");
  }

  @Test
  void combinationsThatCannotWorkNameTheFlagToFix() throws Exception {
    Path rsa = pem("RSA", 2048);
    assertThat(refused("--jwt-secret", SECRET, "--jwt-public-key", rsa.toString()))
        .isEqualTo("fanout: set one of --jwt-secret, --jwt-public-key and --jwks-url, not "
            + "--jwt-secret and --jwt-public-key\n");
    assertThat(refused("--jwt-secret", "0123456789abcdef")).startsWith("fanout: --jwt-secret: "
        + "the HS256 secret must be at least 32 bytes (256 bits, RFC 7518 3.2), got 16")
        .doesNotContain("0123456789abcdef\n");
    assertThat(refused("--jwt-public-key", dir.resolve("missing.pem").toString()))
        .startsWith("fanout: --jwt-public-key " + dir.resolve("missing.pem") + ": cannot read");
    Path notPem = dir.resolve("key.der");
    Files.write(notPem, new byte[] {0x30, (byte) 0x82, 1, 0x22, 0, (byte) 0xff});
    assertThat(refused("--jwt-public-key", notPem.toString()))
        .contains("the public key must be PEM text");
    assertThat(refused("--jwt-public-key", pem("RSA", 1024).toString()))
        .contains("RS256 needs at least 2048");
    assertThat(refused("--jwt-issuer", "https://login.example"))
        .isEqualTo("fanout: --jwt-issuer needs a key: set --jwt-secret, --jwt-public-key or "
            + "--jwks-url\n");
    assertThat(refused("--jwt-secret", SECRET, "--jwt-algorithms", "RS256"))
        .startsWith("fanout: --jwt-algorithms: a secret verifies HS256 only");
    assertThat(refused("--jwks-url", "http://127.0.0.1:1/jwks", "--jwt-algorithms", "HS512"))
        .startsWith("fanout: --jwt-algorithms: unknown algorithm 'HS512'");
    assertThat(refused("--jwks-url", "file:///etc/passwd"))
        .startsWith("fanout: --jwks-url: the JWKS URL must be an absolute http(s) URL");
    assertThat(refused("--jwt-secret", SECRET, "--jwt-clock-skew", "10m"))
        .startsWith("fanout: --jwt-clock-skew: the clock skew must be at most 5 minutes");
    assertThat(refused("--auth-secret", "0123456789abcdef0123"))
        .startsWith("fanout: --auth-secret (FANOUT_AUTH_SECRET) is gone")
        .contains("docs/jwt.md").doesNotContain("0123456789abcdef0123");
  }

  @Test
  void theOldFlagIsNeverQuietlyIgnored() {
    assertThatThrownBy(() -> parse("--auth-secret", "x".repeat(40)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--jwt-secret");
  }
}
