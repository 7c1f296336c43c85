package dev.fanout.netty;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fanout.client.ProtocolClient;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * {@link FanoutNettyServer.Builder#http2}: off by default (HTTP/2's preface is an HTTP/1.1
 * request of an unknown version, answered 505); on, the preface switches the connection to
 * HTTP/2 (the server's first frame is its SETTINGS), with permessage-deflate on too, and
 * WebSocket still upgrades on HTTP/1.1. The streams themselves are proven in the example server's
 * {@code NettyHttp2IntegrationTest}.
 */
class NettyH2cIntegrationTest {
  private static final byte[] PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
      .getBytes(StandardCharsets.US_ASCII);
  private static final byte[] EMPTY_SETTINGS = {0, 0, 0, 4, 0, 0, 0, 0, 0};

  @Test
  void offByDefault() throws Exception {
    try (LoopbackServer loopback = new LoopbackServer(n -> {}, b -> {});
        Socket s = new Socket("127.0.0.1", loopback.server.port())) {
      s.getOutputStream().write(PREFACE);
      String answer = new String(s.getInputStream().readNBytes(12), StandardCharsets.US_ASCII);
      assertThat(answer).isEqualTo("HTTP/1.1 505");
    }
  }

  @Test
  void thePrefaceSwitchesToHttp2AndWebSocketStaysOnHttp11() throws Exception {
    try (LoopbackServer loopback = new LoopbackServer(n -> {},
        b -> b.http2(true).compression(true).requestTimeout(Duration.ofMillis(500)))) {
      try (Socket s = new Socket("127.0.0.1", loopback.server.port())) {
        s.getOutputStream().write(PREFACE);
        s.getOutputStream().write(EMPTY_SETTINGS);
        InputStream in = s.getInputStream();
        byte[] frame = in.readNBytes(9); // the server's connection preface: a SETTINGS frame
        assertThat(frame[3]).isEqualTo((byte) 4);
        assertThat(frame[4] & 1).isZero(); // not an ACK
        // no stream opened: closed (GOAWAY, then the end) at the request timeout
        s.setSoTimeout(5000);
        assertThat(closedWithin(in)).isTrue();
      }
      try (ProtocolClient ws = ProtocolClient.connect(loopback.uri)) {
        assertThat(ws.status()).isEqualTo(101);
        ws.send("{\"type\":\"subscribe\",\"topics\":[\"t\"]}");
        ws.nextOfType("subscribed");
      }
    }
  }

  /** Reads to the end of the stream: true at its end (or a reset), false if the read timed out. */
  private static boolean closedWithin(InputStream in) {
    try {
      in.readAllBytes();
      return true;
    } catch (SocketTimeoutException e) {
      return false;
    } catch (IOException e) {
      return true; // reset
    }
  }
}
