package dev.fanout.netty;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fanout.client.Frame;
import dev.fanout.client.FrameCodec;
import dev.fanout.client.ProtocolClient;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
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
  private static final byte[] SUBSCRIBE =
      "{\"type\":\"subscribe\"}".getBytes(StandardCharsets.UTF_8);

  private LoopbackServer loopback;

  @BeforeEach
  void start() throws Exception {
    loopback = new LoopbackServer(p -> p.maxMessageBytes(4096), b -> b.compression(true));
  }

  @AfterEach
  void stop() {
    loopback.close();
  }

  @Test
  void aCompressedSubscribeIsAnsweredCompressed() throws Exception {
    try (ProtocolClient ws = upgrade()) {
      ws.sendRaw(FrameCodec.frame(FrameCodec.TEXT).rsv1().payload(deflate(SUBSCRIBE)).encode());
      Frame answer = ws.nextFrame();
      assertThat(answer.compressed()).isTrue();
      assertThat(new String(inflate(answer.payload()), StandardCharsets.UTF_8))
          .contains("\"type\":\"subscribed\"");
    }
  }

  @Test
  void aDeflateBombClosesWith1009() throws Exception {
    byte[] bomb = deflate(" ".repeat(16 << 20).getBytes(StandardCharsets.US_ASCII));
    assertThat(bomb.length).as("one frame under the frame limit").isLessThan(16 * 1024);
    try (ProtocolClient ws = upgrade()) {
      ws.sendRaw(FrameCodec.frame(FrameCodec.TEXT).rsv1().payload(bomb).encode());
      Frame close = ws.nextFrame();
      assertThat(close.opcode()).isEqualTo(0x8);
      byte[] p = close.payload();
      assertThat(((p[0] & 0xFF) << 8) | (p[1] & 0xFF)).isEqualTo(1009);
      // refused while inflating, at the buffer limit; not inflated whole (16 MB) and then refused
      // by the protocol's own check ("message larger than 4096 bytes")
      assertThat(new String(p, 2, p.length - 2, StandardCharsets.UTF_8))
          .isEqualTo("message too big");
    }
    try (ProtocolClient ws = upgrade()) { // the node is fine
      ws.sendRaw(FrameCodec.frame(FrameCodec.TEXT).rsv1().payload(deflate(SUBSCRIBE)).encode());
      assertThat(new String(inflate(ws.nextFrame().payload()), StandardCharsets.UTF_8))
          .contains("\"type\":\"subscribed\"");
    }
  }

  private ProtocolClient upgrade() throws IOException {
    ProtocolClient ws = ProtocolClient.connect(loopback.uri,
        Map.of("Sec-WebSocket-Extensions", "permessage-deflate"));
    assertThat(ws.status()).isEqualTo(101);
    assertThat(ws.head()).containsIgnoringCase("permessage-deflate");
    return ws;
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
}
