package dev.fanout.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.junit.jupiter.api.Test;

class HttpEdgeTest {

  @Test
  void aWebSocketKeyIsTheBase64OfSixteenBytes() {
    assertThat(HttpEdge.isWebSocketKey("dGhlIHNhbXBsZSBub25jZQ==")).isTrue(); // RFC 6455's own
    assertThat(HttpEdge.isWebSocketKey(b64(16))).isTrue();
    assertThat(HttpEdge.isWebSocketKey(b64(15))).isFalse();
    assertThat(HttpEdge.isWebSocketKey(b64(17))).isFalse();
    assertThat(HttpEdge.isWebSocketKey("abc")).isFalse();
    assertThat(HttpEdge.isWebSocketKey("")).isFalse();
    assertThat(HttpEdge.isWebSocketKey(null)).isFalse();
    assertThat(HttpEdge.isWebSocketKey("dGhlIHNhbXBsZSBub25jZQ")).as("no padding").isFalse();
    assertThat(HttpEdge.isWebSocketKey("_-_-_-_-_-_-_-_-_-_-_w==")).as("url alphabet").isFalse();
    assertThat(HttpEdge.isWebSocketKey("dGhlIHNhbXBsZS Bub25jZQ=")).as("a space").isFalse();
  }

  @Test
  void plainPathsAreNotAmbiguous() {
    for (String path : new String[] {"/", "/ws", "/health/ready", "/health/", "/a.b/c..d",
        "/%68ealth", "/x;y", "/.well-known/x", "/a/...", "/fanout-client.js"}) {
      assertThat(HttpEdge.isAmbiguousPath(path)).as(path).isFalse();
    }
  }

  @Test
  void pathsThatDependOnWhoNormalisesThemAreAmbiguous() {
    for (String path : new String[] {"", "ws", "*", "//x", "//ws", "/x//y", "//", "/./health",
        "/health/../metrics", "/x/../ws", "/health/..", "/..", "/.", "/%2e%2e/health",
        "/x/%2E/y", "/x/.%2e/y", "/%2fhealth", "/a%2Fb", "/a%5cb", "/a\\b", "/a%2500",
        "/health%00", null}) {
      assertThat(HttpEdge.isAmbiguousPath(path)).as(path).isTrue();
    }
  }

  private static String b64(int bytes) {
    return Base64.getEncoder().encodeToString("x".repeat(bytes).getBytes(StandardCharsets.UTF_8));
  }
}
