package dev.fanout.netty;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.fanout.core.Hub;
import dev.fanout.core.InMemoryStream;
import dev.fanout.protocol.FanoutProtocol;
import dev.fanout.protocol.RawWs;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A connection must send its whole HTTP request within the server's request timeout. */
class NettyRequestTimeoutIntegrationTest {
  private static final Duration TIMEOUT = Duration.ofMillis(500);

  private Hub hub;
  private FanoutProtocol protocol;
  private FanoutNettyServer server;
  private URI uri;

  @BeforeEach
  void start() throws Exception {
    InMemoryStream stream = InMemoryStream.create(100);
    hub = Hub.builder().bus(stream).history(stream).build();
    protocol = FanoutProtocol.builder(hub).build();
    server = FanoutNettyServer.builder(protocol).host("127.0.0.1").port(0)
        .requestTimeout(TIMEOUT).start();
    uri = URI.create("ws://127.0.0.1:" + server.port() + "/ws");
  }

  @AfterEach
  void stop() {
    protocol.close();
    server.close();
  }

  @Test
  void aSilentConnectionIsClosed() throws Exception {
    try (Socket s = connect()) {
      await().atMost(Duration.ofSeconds(5)).until(() -> RawWs.closedByServer(s));
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
        return RawWs.closedByServer(s);
      });
    } catch (IOException e) {
      // a write after the server closed may fail with a reset: closed either way
    }
  }

  @Test
  void anUpgradedConnectionOutlivesTheRequestTimeout() throws Exception {
    try (RawWs ws = RawWs.handshake(uri, Map.of())) {
      assertThat(ws.status).isEqualTo(101);
      await().during(TIMEOUT.multipliedBy(3)).atMost(TIMEOUT.multipliedBy(6))
          .until(() -> !ws.serverClosed());
      assertThat(hub.connectionCount()).isEqualTo(1);
    }
  }

  @Test
  void aTimeoutMustBePositive() {
    assertThatThrownBy(() -> FanoutNettyServer.builder(protocol).requestTimeout(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("request timeout must be positive");
  }

  private Socket connect() throws IOException {
    Socket s = new Socket("127.0.0.1", server.port());
    s.setSoTimeout(50);
    return s;
  }
}
