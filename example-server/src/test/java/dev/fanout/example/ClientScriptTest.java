package dev.fanout.example;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Runs the Node tests of fanout-client.js (src/test/js): its resume, backoff and filter-change
 * rules on the very file the page loads. Needs {@code node} (Debian: nodejs) on PATH.
 */
class ClientScriptTest {
  @Test
  void theClientsResumeAndBackoffRulesHold() throws Exception {
    Process node = new ProcessBuilder("node", "--test", "src/test/js/")
        .directory(new File(".")).redirectErrorStream(true).start();
    String output = new String(node.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(node.waitFor(60, TimeUnit.SECONDS)).as("node finished").isTrue();
    assertThat(node.exitValue()).as(output).isZero();
    assertThat(output).contains("# fail 0");
  }
}
