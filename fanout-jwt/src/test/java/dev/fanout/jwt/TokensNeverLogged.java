package dev.fanout.jwt;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * After every test of the module (registered by service loading, see junit-platform.properties):
 * the JVM's whole log output (slf4j-simple writes it to {@link #LOG}) holds no token the tests
 * used, nor the claims or the signature part of one. Each check reads the whole log: new lines
 * against every token, and older lines against the tokens made since the last check.
 */
public final class TokensNeverLogged implements AfterEachCallback {
  static final Path LOG = Path.of("target", "fanout-jwt-tests.log");
  private static final int SHORTEST_PART = 16;
  private static int checkedChars; // of the log
  private static int checkedTokens;

  @Override
  public void afterEach(ExtensionContext context) throws IOException {
    check(context.getDisplayName());
  }

  static synchronized void check(String after) throws IOException {
    String log = Files.exists(LOG) ? Files.readString(LOG, StandardCharsets.UTF_8) : "";
    List<String> tokens = TestTokens.used();
    // a token may straddle the line between checked and new text: overlap by the longest
    int longest = tokens.stream().mapToInt(String::length).max().orElse(0);
    String fresh = log.substring(Math.max(0, Math.min(checkedChars, log.length()) - longest));
    for (int i = 0; i < tokens.size(); i++) {
      String text = i < checkedTokens ? fresh : log;
      for (String secret : secrets(tokens.get(i))) {
        assertThat(text.contains(secret))
            .as("a token (or its claims or signature) in the log, after %s", after)
            .isFalse();
      }
    }
    checkedChars = log.length();
    checkedTokens = tokens.size();
  }

  /** The token, and its claims and signature parts (its header is no secret). */
  private static List<String> secrets(String token) {
    List<String> secrets = new ArrayList<>();
    secrets.add(token);
    String[] parts = token.split("\\.");
    for (int i = 1; i < parts.length; i++) {
      if (parts[i].length() >= SHORTEST_PART) {
        secrets.add(parts[i]);
      }
    }
    return secrets;
  }
}
