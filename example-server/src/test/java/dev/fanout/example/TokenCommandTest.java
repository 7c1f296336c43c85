package dev.fanout.example;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The token subcommand: it never mints a token that sees more than it was asked for. */
class TokenCommandTest {
  private static final String SECRET = "0123456789abcdef0123";

  private record Run(int status, String out, String err) {}

  private static Run token(String... args) {
    StringWriter err = new StringWriter();
    CommandLine cmd = ExampleServer.commandLine();
    cmd.setErr(new PrintWriter(err, true));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    PrintStream stdout = System.out;
    System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8)); // the token goes there
    try {
      String[] all = new String[args.length + 3];
      all[0] = "token";
      all[1] = "--auth-secret";
      all[2] = SECRET;
      System.arraycopy(args, 0, all, 3, args.length);
      return new Run(cmd.execute(all), out.toString(StandardCharsets.UTF_8).trim(),
          err.toString());
    } finally {
      System.setOut(stdout);
    }
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
  void aMerchantListMintsATokenForExactlyThoseMerchants() {
    HmacTokens tokens = new HmacTokens(SECRET, Clock.systemUTC());
    Run some = token("--merchants=mch_01, mch_02");
    assertThat(some.status()).isZero();
    assertThat(tokens.verify(some.out()).scope().topics())
        .containsExactlyInAnyOrder("mch_01", "mch_02");
    Run all = token(); // no --merchants: every merchant, as documented
    assertThat(all.status()).isZero();
    assertThat(tokens.verify(all.out()).scope().isAll()).isTrue();
    assertThat(List.of(some.out(), all.out())).doesNotContain("");
  }
}
