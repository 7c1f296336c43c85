package dev.fanout.netty;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fanout.core.Hub;
import dev.fanout.core.InMemoryStream;
import dev.fanout.protocol.FanoutProtocol;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.Inflater;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * permessage-deflate on the Netty transport (RFC 7692), with a raw client that deflates: a
 * compressed subscribe is understood and answered compressed; a frame that inflates past the
 * connection's buffer limit (a deflate bomb) closes with 1009 before it is inflated whole.
 */
class NettyCompressionIntegrationTest {
  private FanoutProtocol protocol;
  private FanoutNettyServer server;

  @BeforeEach
  void start() throws Exception {
    InMemoryStream stream = InMemoryStream.create(100);
    Hub hub = Hub.builder().bus(stream).history(stream).build();
    protocol = FanoutProtocol.builder(hub).maxMessageBytes(4096).build();
    server = FanoutNettyServer.builder(protocol).host("127.0.0.1").port(0).compression(true)
        .start();
  }

  @AfterEach
  void stop() {
    protocol.close();
    server.close();
  }

  @Test
  void aCompressedSubscribeIsAnsweredCompressed() throws Exception {
    try (Socket s = upgrade()) {
      send(s, deflate("{\"type\":\"subscribe\"}".getBytes(StandardCharsets.UTF_8)));
      Frame answer = read(s);
      assertThat(answer.rsv1).as("compressed").isTrue();
      assertThat(new String(inflate(answer.payload), StandardCharsets.UTF_8))
          .contains("\"type\":\"subscribed\"");
    }
  }

  @Test
  void aDeflateBombClosesWith1009() throws Exception {
    byte[] bomb = deflate(" ".repeat(16 << 20).getBytes(StandardCharsets.US_ASCII));
    assertThat(bomb.length).as("one frame under the frame limit").isLessThan(16 * 1024);
    try (Socket s = upgrade()) {
      send(s, bomb);
      Frame close = read(s);
      assertThat(close.opcode).isEqualTo(0x8);
      assertThat(((close.payload[0] & 0xFF) << 8) | (close.payload[1] & 0xFF)).isEqualTo(1009);
      // refused while inflating, at the buffer limit; not inflated whole (16 MB) and then refused
      // by the protocol's own check ("message larger than 4096 bytes")
      assertThat(new String(close.payload, 2, close.payload.length - 2, StandardCharsets.UTF_8))
          .isEqualTo("message too big");
    }
    try (Socket s = upgrade()) { // the node is fine
      send(s, deflate("{\"type\":\"subscribe\"}".getBytes(StandardCharsets.UTF_8)));
      assertThat(new String(inflate(read(s).payload), StandardCharsets.UTF_8))
          .contains("\"type\":\"subscribed\"");
    }
  }

  private Socket upgrade() throws IOException {
    Socket s = new Socket("127.0.0.1", server.port());
    s.setSoTimeout(10_000);
    String key = Base64.getEncoder().encodeToString("fanout-test-key!".getBytes());
    OutputStream out = s.getOutputStream();
    out.write(("GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        + "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + key + "\r\n"
        + "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n")
        .getBytes(StandardCharsets.ISO_8859_1));
    out.flush();
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    InputStream in = s.getInputStream();
    while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
      int b = in.read();
      if (b == -1) {
        throw new IOException("closed during the handshake: " + head);
      }
      head.write(b);
    }
    String h = head.toString(StandardCharsets.ISO_8859_1);
    assertThat(h).startsWith("HTTP/1.1 101").containsIgnoringCase("permessage-deflate");
    return s;
  }

  /** RFC 7692 7.2.1: deflate, sync flush, without the final 00 00 ff ff. */
  private static byte[] deflate(byte[] data) {
    Deflater d = new Deflater(Deflater.BEST_COMPRESSION, true);
    d.setInput(data);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] buf = new byte[64 * 1024];
    int n;
    while ((n = d.deflate(buf, 0, buf.length, Deflater.SYNC_FLUSH)) > 0) {
      out.write(buf, 0, n);
    }
    d.end();
    byte[] all = out.toByteArray();
    return Arrays.copyOf(all, all.length - 4);
  }

  private static byte[] inflate(byte[] data) throws DataFormatException {
    Inflater i = new Inflater(true);
    byte[] tail = {0, 0, (byte) 0xFF, (byte) 0xFF};
    byte[] in = Arrays.copyOf(data, data.length + 4);
    System.arraycopy(tail, 0, in, data.length, 4);
    i.setInput(in);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] buf = new byte[8192];
    int n;
    while ((n = i.inflate(buf)) > 0) {
      out.write(buf, 0, n);
    }
    i.end();
    return out.toByteArray();
  }

  /** One final, masked text frame with RSV1 (compressed). */
  private static void send(Socket s, byte[] payload) throws IOException {
    ByteArrayOutputStream f = new ByteArrayOutputStream();
    f.write(0x80 | 0x40 | 0x1);
    if (payload.length < 126) {
      f.write(0x80 | payload.length);
    } else {
      f.write(0x80 | 126);
      f.write(payload.length >>> 8);
      f.write(payload.length & 0xFF);
    }
    byte[] mask = {7, 3, 5, 1};
    f.write(mask);
    for (int i = 0; i < payload.length; i++) {
      f.write(payload[i] ^ mask[i % 4]);
    }
    s.getOutputStream().write(f.toByteArray());
    s.getOutputStream().flush();
  }

  private record Frame(int opcode, boolean rsv1, byte[] payload) {}

  private static Frame read(Socket s) throws IOException {
    DataInputStream in = new DataInputStream(s.getInputStream());
    int b0 = in.readUnsignedByte();
    int b1 = in.readUnsignedByte();
    long length = b1 & 0x7F;
    if (length == 126) {
      length = in.readUnsignedShort();
    } else if (length == 127) {
      length = in.readLong();
    }
    byte[] payload = new byte[(int) length];
    in.readFully(payload);
    return new Frame(b0 & 0x0F, (b0 & 0x40) != 0, payload);
  }
}
