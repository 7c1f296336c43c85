package dev.fanout.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.fanout.client.FrameCodec;
import dev.fanout.core.Hub;
import dev.fanout.core.InMemoryStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The upgrade request at the byte level, on a real server, with a raw socket as the client: what
 * arrives together with the request head, and the handshakes a WebSocket library would never
 * send. One suite for every container, beside {@link ProtocolSuite}; a subclass names the server
 * and says whether fanout's own edge (the Netty transport, or {@code HandshakeFilter} in front of
 * a servlet container) answers its requests.
 */
public abstract class UpgradeEdgeSuite {
  static final String ORIGIN = "https://ops.example.com";
  private static final String KEY = "dGhlIHNhbXBsZSBub25jZQ=="; // RFC 6455's sample: 16 bytes
  private static final byte[] SUBSCRIBE = "{\"type\":\"subscribe\"}"
      .getBytes(StandardCharsets.UTF_8);

  private Hub hub;
  private FanoutNode node;
  private ServerFixture server;
  private URI uri;

  /** The transport under test, not started yet. */
  protected abstract ServerFixture newServer();

  /**
   * Whether fanout answers the upgrade request itself before the container does: the Netty
   * transport, or a servlet container with {@code HandshakeFilter} in front of the endpoint.
   * Then a bad key, an ambiguous path or a second Origin gets its exact 4xx status.
   */
  protected boolean fanoutAnswersTheUpgrade() {
    return true;
  }

  /**
   * Whether the server reads bytes that arrive in the same packet as the upgrade request as the
   * connection's first frames (Jetty, Tomcat and Netty do).
   */
  protected boolean keepsBytesSentWithTheUpgrade() {
    return true;
  }

  @BeforeEach
  void start() throws Exception {
    node = FanoutNode.builder().stream(InMemoryStream.create(100)).allowedOrigins(ORIGIN).build()
        .start();
    hub = node.hub();
    server = newServer();
    uri = server.start(node);
  }

  @AfterEach
  void stop() {
    node.close();
    server.close();
  }

  // ---- what arrives with the request head ----

  @Test
  void aSubscribeSentInTheSamePacketAsTheUpgradeIsAnswered() throws Exception {
    assumeTrue(keepsBytesSentWithTheUpgrade(), "a known limit of this container");
    try (Socket s = RawHttp.connect(uri)) {
      s.getOutputStream().write(concat(head(uri.getRawPath(), ""),
          FrameCodec.clientFrame(0x1, SUBSCRIBE)));
      assertThat(RawHttp.status(RawHttp.readHead(s.getInputStream()))).isEqualTo(101);
      assertThat(nextText(s.getInputStream())).contains("\"type\":\"subscribed\"");
    }
  }

  @Test
  void aFrameSplitAcrossTheEndOfTheUpgradeIsParsed() throws Exception {
    assumeTrue(keepsBytesSentWithTheUpgrade(), "a known limit of this container");
    byte[] frame = FrameCodec.clientFrame(0x1, SUBSCRIBE);
    try (Socket s = RawHttp.connect(uri)) {
      // the head and the frame's first 3 bytes in one packet; the rest once the 101 is read
      s.getOutputStream().write(concat(head(uri.getRawPath(), ""), Arrays.copyOf(frame, 3)));
      assertThat(RawHttp.status(RawHttp.readHead(s.getInputStream()))).isEqualTo(101);
      s.getOutputStream().write(Arrays.copyOfRange(frame, 3, frame.length));
      assertThat(nextText(s.getInputStream())).contains("\"type\":\"subscribed\"");
    }
  }

  @Test
  void twoSubscribesInTheUpgradesPacketAreBothAnswered() throws Exception {
    assumeTrue(keepsBytesSentWithTheUpgrade(), "a known limit of this container");
    try (Socket s = RawHttp.connect(uri)) {
      s.getOutputStream().write(concat(head(uri.getRawPath(), ""),
          concat(FrameCodec.clientFrame(0x1, SUBSCRIBE), FrameCodec.clientFrame(0x1, SUBSCRIBE))));
      assertThat(RawHttp.status(RawHttp.readHead(s.getInputStream()))).isEqualTo(101);
      assertThat(nextText(s.getInputStream())).contains("\"type\":\"subscribed\"");
      assertThat(nextText(s.getInputStream())).contains("\"type\":\"subscribed\"");
    }
  }

  // ---- handshakes a client library would not send ----

  @Test
  void aKeyThatIsNotSixteenBytesOfBase64IsRefusedWith400() throws Exception {
    assumeTrue(fanoutAnswersTheUpgrade(), "the container's own answer");
    String b64of15 = Base64.getEncoder().encodeToString(new byte[15]);
    String b64of17 = Base64.getEncoder().encodeToString(new byte[17]);
    for (String keys : new String[] {"Sec-WebSocket-Key: abc\r\n",
        "Sec-WebSocket-Key: " + b64of15 + "\r\n", "Sec-WebSocket-Key: " + b64of17 + "\r\n",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ\r\n", // no padding
        "Sec-WebSocket-Key: " + KEY + "\r\nSec-WebSocket-Key: " + KEY + "\r\n"}) {
      assertThat(statusOf(headWithKeys(uri.getRawPath(), keys))).as(keys).isEqualTo(400);
    }
    assertThat(statusOf(headWithKeys(uri.getRawPath(), "Sec-WebSocket-Key: " + KEY + "\r\n")))
        .isEqualTo(101);
    assertThat(hub.connectionCount()).isLessThanOrEqualTo(1);
  }

  @Test
  void twoOriginHeadersAreRefusedWhicheverComesFirst() throws Exception {
    for (String origins : new String[] {
        "Origin: " + ORIGIN + "\r\nOrigin: https://evil.example\r\n",
        "Origin: https://evil.example\r\nOrigin: " + ORIGIN + "\r\n",
        "Origin: " + ORIGIN + "\r\nOrigin: " + ORIGIN + "\r\n"}) {
      int status = statusOf(head(uri.getRawPath(), origins));
      if (fanoutAnswersTheUpgrade()) {
        assertThat(status).as(origins).isEqualTo(403);
      } else { // refused by the endpoint, with whatever status the container gives that
        assertThat(status).as(origins).isNotEqualTo(101);
      }
    }
  }

  @Test
  void anOriginMatchesWhateverTheCaseOfItsSchemeAndHost() throws Exception {
    assertThat(statusOf(head(uri.getRawPath(), "Origin: HTTPS://OPS.Example.COM\r\n")))
        .isEqualTo(101);
    assertThat(statusOf(head(uri.getRawPath(), "Origin: " + ORIGIN + "\r\n"))).isEqualTo(101);
    assertThat(statusOf(head(uri.getRawPath(), "Origin: https://ops.example.co\r\n")))
        .isNotEqualTo(101);
  }

  @Test
  void anUpgradeOnAnAmbiguousPathIsRefusedWith400() throws Exception {
    assumeTrue(fanoutAnswersTheUpgrade(), "the container's own answer");
    String path = uri.getRawPath(); // e.g. /ws: each of these is it, once normalised
    for (String p : new String[] {"/x/.." + path, "/." + path, "/x/%2e%2e" + path}) {
      assertThat(statusOf(head(p, ""))).as(p).isEqualTo(400);
    }
  }

  @Test
  void anHttp10UpgradeIsRefused() throws Exception {
    assumeTrue(fanoutAnswersTheUpgrade(), "the container's own answer");
    String head = new String(head(uri.getRawPath(), ""), StandardCharsets.ISO_8859_1)
        .replace("HTTP/1.1", "HTTP/1.0");
    assertThat(statusOf(head.getBytes(StandardCharsets.ISO_8859_1))).isEqualTo(400);
  }

  // ---- the raw client ----

  private byte[] head(String path, String extra) {
    return headWithKeys(path, "Sec-WebSocket-Key: " + KEY + "\r\n" + extra);
  }

  private byte[] headWithKeys(String path, String headers) {
    return ("GET " + path + " HTTP/1.1\r\nHost: " + uri.getHost() + ":" + uri.getPort()
        + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        + headers + "\r\n").getBytes(StandardCharsets.ISO_8859_1);
  }

  private int statusOf(byte[] head) throws IOException {
    return RawHttp.send(uri, head).status();
  }

  /** The payload of the server's next text frame (pings and the like skipped). */
  private static String nextText(InputStream in) throws IOException {
    while (true) {
      int b0 = in.read();
      int b1 = in.read();
      if (b0 == -1 || b1 == -1) {
        throw new IOException("the connection ended before a text frame");
      }
      int length = b1 & 0x7F;
      if (length >= 126) {
        byte[] extended = in.readNBytes(length == 126 ? 2 : 8);
        length = 0;
        for (byte x : extended) {
          length = (length << 8) | (x & 0xFF);
        }
      }
      byte[] payload = in.readNBytes(length);
      if ((b0 & 0x0F) == 0x1) {
        return new String(payload, StandardCharsets.UTF_8);
      }
      if ((b0 & 0x0F) == 0x8) {
        throw new IOException("closed: " + Arrays.toString(payload));
      }
    }
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] both = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, both, a.length, b.length);
    return both;
  }
}
