package dev.fanout.netty;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.fanout.client.ProtocolClient;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A connection must send its whole HTTP request within the server's request timeout. */
class NettyRequestTimeoutIntegrationTest {
  private static final Duration TIMEOUT = Duration.ofMillis(500);

  private LoopbackServer loopback;

  @BeforeEach
  void start() throws Exception {
    loopback = new LoopbackServer(p -> {}, b -> b.requestTimeout(TIMEOUT));
  }

  @AfterEach
  void stop() {
    loopback.close();
  }

  @Test
  void aSilentConnectionIsClosed() throws Exception {
    try (Socket s = connect()) {
      await().atMost(Duration.ofSeconds(5)).until(() -> ProtocolClient.closedByServer(s));
    }
  }

  @Test
  void aRequestThatNeverEndsIsClosed() throws Exception {
    try (Socket s = connect()) {
      OutputStream out = s.getOutputStream();
      out.write("GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      await().atMost(Duration.ofSeconds(5)).until(() -> {
        out.write("X-Slow: 1\r\n".getBytes(StandardCharsets.US_ASCII)); // a header now and then
        out.flush();
        return ProtocolClient.closedByServer(s);
      });
    } catch (IOException e) {
      // a write after the server closed may fail with a reset: closed either way
    }
  }

  @Test
  void anUpgradedConnectionOutlivesTheRequestTimeout() throws Exception {
    try (ProtocolClient ws = ProtocolClient.builder(loopback.uri)
        .reading(false).answering(false).connect()) {
      assertThat(ws.status()).isEqualTo(101);
      await().during(TIMEOUT.multipliedBy(3)).atMost(TIMEOUT.multipliedBy(6))
          .until(() -> !ws.serverClosed());
      assertThat(loopback.hub.connectionCount()).isEqualTo(1);
    }
  }

  @Test
  void aTimeoutMustBePositive() {
    FanoutNettyServer.Builder builder = FanoutNettyServer.builder(loopback.node);
    assertThatThrownBy(() -> builder.requestTimeout(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("request timeout must be positive");
  }

  private Socket connect() throws IOException {
    Socket s = new Socket("127.0.0.1", loopback.server.port());
    s.setSoTimeout(50);
    return s;
  }
}
