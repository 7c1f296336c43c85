package dev.fanout.example;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fanout.jwt.JwtAuthenticator;
import dev.fanout.protocol.Authentication;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * The token subcommand: HS256 JWTs a --jwt-secret server accepts, never one that sees more than
 * it was asked for, and one line saying what is wrong otherwise.
 */
class TokenCommandTest {
  private static final String SECRET = TestJwts.SECRET;

  private record Run(int status, String out, String err) {}

  private static Run run(String... args) {
    StringWriter err = new StringWriter();
    CommandLine cmd = ExampleServer.commandLine();
    cmd.setErr(new PrintWriter(err, true));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    PrintStream stdout = System.out;
    System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8)); // the token goes there
    try {
      return new Run(cmd.execute(args), out.toString(StandardCharsets.UTF_8).trim(),
          err.toString());
    } finally {
      System.setOut(stdout);
    }
  }

  private static Run token(String... args) {
    String[] all = new String[args.length + 3];
    all[0] = "token";
    all[1] = "--jwt-secret";
    all[2] = SECRET;
    System.arraycopy(args, 0, all, 3, args.length);
    return run(all);
  }

  /** What a server started with --jwt-secret SECRET (and nothing else) makes of a token. */
  private static Authentication server(String token) {
    return JwtAuthenticator.builder().secret(SECRET).scopeClaim("merchants").build()
        .verify(token);
  }

  @Test
  void anEmptyOrBlankMerchantListIsRefusedInOneLine() {
    for (String merchants : new String[] {"--merchants=,", "--merchants=,,", "--merchants=",
        "--merchants= ", "--merchants=mch_01,", "--merchants=mch_01, ,mch_02"}) {
      Run run = token(merchants);
      assertThat(run.status()).as(merchants).isEqualTo(2);
      assertThat(run.out()).as(merchants).isEmpty();
      assertThat(run.err().lines()).as(merchants).hasSize(1);
      assertThat(run.err()).as(merchants).startsWith("fanout: --merchants must name");
    }
  }

  @Test
  void aMerchantListMintsAJwtForExactlyThoseMerchants() {
    Run some = token("--merchants=mch_01, mch_02", "--principal", "ops-team-a", "--ttl", "2h");
    assertThat(some.status()).isZero();
    Authentication a = server(some.out());
    assertThat(a.allowed()).isTrue();
    assertThat(a.principal()).isEqualTo("ops-team-a");
    assertThat(a.scope().topics()).containsExactlyInAnyOrder("mch_01", "mch_02");
    assertThat(a.expiresAt()).isBetween(Instant.now().plus(Duration.ofMinutes(119)),
        Instant.now().plus(Duration.ofMinutes(122))); // exp, and the server's 60 s skew
    String[] parts = some.out().split("\\.");
    assertThat(parts).hasSize(3);
    String header = new String(Base64.getUrlDecoder().decode(parts[0]), StandardCharsets.UTF_8);
    String claims = new String(Base64.getUrlDecoder().decode(parts[1]), StandardCharsets.UTF_8);
    assertThat(header).contains("\"alg\":\"HS256\"");
    assertThat(claims).contains("\"sub\":\"ops-team-a\"", "\"merchants\":[\"mch_01\",\"mch_02\"]");

    Run all = token(); // no --merchants: every merchant, as documented
    assertThat(all.status()).isZero();
    assertThat(server(all.out()).scope().isAll()).isTrue();
    assertThat(List.of(some.out(), all.out())).doesNotContain("");
  }

  @Test
  void issuerAudienceAndScopeClaimMatchTheServersFlags() {
    Run t = token("--jwt-issuer", "https://login.example", "--jwt-audience", "feed",
        "--jwt-scope-claim", "topics", "--merchants", "mch_01");
    assertThat(t.status()).isZero();
    JwtAuthenticator strict = JwtAuthenticator.builder().secret(SECRET).scopeClaim("topics")
        .issuer("https://login.example").audience("feed").build();
    assertThat(strict.verify(t.out()).scope().topics()).containsExactly("mch_01");
    assertThat(server(t.out()).reason()).as("no merchants claim").isEqualTo("no topics granted");
    assertThat(JwtAuthenticator.builder().secret(SECRET).scopeClaim("topics").audience("other")
        .build().verify(t.out()).reason()).isEqualTo("wrong audience");
  }

  @Test
  void aShortSecretOrTheOldFlagIsRefusedInOneLineThatSaysWhatToDo() {
    Run shortSecret = run("token", "--jwt-secret", "0123456789abcdef0123");
    assertThat(shortSecret.status()).isEqualTo(2);
    assertThat(shortSecret.out()).isEmpty();
    assertThat(shortSecret.err()).startsWith("fanout: --jwt-secret: the HS256 secret must be "
        + "at least 32 bytes").contains("openssl rand -base64 32");
    assertThat(shortSecret.err().lines()).hasSize(1);

    Run old = run("token", "--jwt-secret", SECRET, "--auth-secret", "0123456789abcdef0123");
    assertThat(old.status()).isEqualTo(2);
    assertThat(old.out()).isEmpty();
    assertThat(old.err()).startsWith("fanout: --auth-secret (FANOUT_AUTH_SECRET) is gone")
        .contains("--jwt-secret").doesNotContain("0123456789abcdef0123");
    assertThat(old.err().lines()).hasSize(1);

    Run blank = token("--principal", " ");
    assertThat(blank.status()).isEqualTo(2);
    assertThat(blank.err()).isEqualTo("fanout: --principal must not be blank\n");
  }
}
