package dev.fanout.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.ServerSocket;
import java.net.URI;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * What a warm-up refuses to start with, and a node it cannot reach. Against real servers:
 * ProtocolSuite's warm-up tests.
 */
class WarmupTest {
  static final URI WS = URI.create("ws://127.0.0.1:8080/ws");

  @Test
  void onlyAWsUriWithAHostAndAPortAndSomeConnections() {
    assertThatThrownBy(() -> Warmup.run(URI.create("wss://127.0.0.1:8443/ws"), Map.of(), 1))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("ws://");
    assertThatThrownBy(() -> Warmup.run(URI.create("ws://127.0.0.1/ws"), Map.of(), 1))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("port");
    assertThatThrownBy(() -> Warmup.run(WS, Map.of(), 0))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("positive");
  }

  @Test
  void headersTheUpgradeSetsOrWithLineBreaksAreRefused() {
    assertThatThrownBy(() -> Warmup.run(WS, Map.of("sec-websocket-key", "x"), 1))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("sets");
    assertThatThrownBy(() -> Warmup.run(WS, Map.of("Origin", "a\r\nX-Injected: 1"), 1))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("line break");
  }

  @Test
  void aNodeThatCannotBeReachedAnswersNothingAndTheWarmUpReturns() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort(); // closed again: nothing listens there
    }
    URI nowhere = URI.create("ws://127.0.0.1:" + port + "/ws");
    assertThat(Warmup.run(nowhere, Map.of(), 10)).isZero();
  }
}
