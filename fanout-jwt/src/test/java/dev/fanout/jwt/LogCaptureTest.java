package dev.fanout.jwt;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** TokensNeverLogged's search means something only if the module's log lines reach its file. */
class LogCaptureTest {

  @Test
  void theModulesDebugLinesReachTheSearchedFile() throws Exception {
    String marker = "capture-check-" + UUID.randomUUID();
    LoggerFactory.getLogger(JwtAuthenticator.class).debug(marker);
    assertThat(Files.readString(TokensNeverLogged.LOG, StandardCharsets.UTF_8))
        .contains(marker);
  }
}
