package dev.fanout.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The frame codec: what a client writes, and decoding what a server writes, in any pieces. */
class FrameCodecTest {
  private final List<Frame> out = new ArrayList<>();
  private final FrameCodec.Decoder fromServer = FrameCodec.Decoder.ofServerFrames(recorder(), 1024);
  private final FrameCodec.Decoder fromClient = FrameCodec.Decoder.ofClientFrames(recorder(), 1024);

  private FrameCodec.Decoder.Handler recorder() {
    return new FrameCodec.Decoder.Handler() {
      @Override
      public void message(int opcode, boolean compressed, byte[] b, int from, int to) {
        out.add(new Frame(opcode, compressed, Arrays.copyOfRange(b, from, to)));
      }

      @Override
      public void control(int opcode, byte[] b, int from, int to) {
        out.add(new Frame(opcode, false, Arrays.copyOfRange(b, from, to)));
      }
    };
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static byte[] server(int opcode, String payload) {
    return FrameCodec.frame(opcode).unmasked().payload(bytes(payload)).encode();
  }

  private static byte[] join(byte[]... parts) {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      b.writeBytes(p);
    }
    return b.toByteArray();
  }

  @Test
  void aClientFrameIsFinalMaskedAndItsPayloadComesBack() throws IOException {
    byte[] f = FrameCodec.text("{\"type\":\"subscribe\"}");
    assertThat(f[0] & 0xFF).isEqualTo(0x81);
    assertThat(f[1] & 0x80).as("masked").isEqualTo(0x80);
    fromClient.feed(f, 0, f.length);
    assertThat(out).containsExactly(new Frame(FrameCodec.TEXT, false,
        bytes("{\"type\":\"subscribe\"}")));
  }

  @Test
  void everyLengthFormDecodesWhateverPiecesTheBytesArriveIn() throws IOException {
    Random random = new Random(5);
    byte[] small = new byte[125];
    byte[] medium = new byte[300];
    byte[] large = new byte[70_000];
    random.nextBytes(medium);
    random.nextBytes(large);
    FrameCodec.Decoder d = FrameCodec.Decoder.ofServerFrames(recorder(), 1 << 20);
    byte[] stream = join(FrameCodec.frame(FrameCodec.BINARY).unmasked().payload(small).encode(),
        FrameCodec.frame(FrameCodec.BINARY).unmasked().payload(medium).encode(),
        FrameCodec.frame(FrameCodec.BINARY).unmasked().payload(large).encode(),
        FrameCodec.frame(FrameCodec.BINARY).unmasked().lengthBytes(8).payload(medium).encode());
    for (int at = 0; at < stream.length; ) { // pieces of 1 to 5,000 bytes
      int n = Math.min(stream.length - at, 1 + random.nextInt(random.nextBoolean() ? 3 : 5000));
      d.feed(ByteBuffer.wrap(stream, at, n));
      at += n;
    }
    assertThat(out).extracting(Frame::payload).containsExactly(small, medium, large, medium);
  }

  @Test
  void aFragmentedMessageIsJoinedAndControlFramesBetweenItsPartsComeFirst() throws IOException {
    byte[] stream = join(
        FrameCodec.frame(FrameCodec.TEXT).fin(false).unmasked().payload(bytes("{\"a\":")).encode(),
        server(FrameCodec.PING, "p"),
        FrameCodec.frame(FrameCodec.CONTINUATION).fin(false).unmasked().payload(bytes("1"))
            .encode(),
        FrameCodec.frame(FrameCodec.CONTINUATION).unmasked().payload(bytes("}")).encode(),
        server(FrameCodec.TEXT, "next"));
    fromServer.feed(stream, 0, stream.length);
    assertThat(out).containsExactly(new Frame(FrameCodec.PING, false, bytes("p")),
        new Frame(FrameCodec.TEXT, false, bytes("{\"a\":1}")),
        new Frame(FrameCodec.TEXT, false, bytes("next")));
  }

  @Test
  void rsv1MarksACompressedMessage() throws IOException {
    byte[] f = FrameCodec.frame(FrameCodec.TEXT).rsv1().unmasked().payload(new byte[] {1, 2})
        .encode();
    fromServer.feed(f, 0, f.length);
    assertThat(out.get(0).compressed()).isTrue();
  }

  @Test
  void framesThatBreakTheRfcAreRefused() {
    assertRefused(fromServer, FrameCodec.text("masked"), "must not be masked");
    assertRefused(fromClient, server(FrameCodec.TEXT, "unmasked"), "must be masked");
    assertRefused(fromServer, server(0x3, ""), "reserved opcode");
    assertRefused(fromServer, FrameCodec.frame(FrameCodec.TEXT).rsv(0x2).unmasked().encode(),
        "RSV2");
    assertRefused(fromServer, FrameCodec.frame(FrameCodec.PING).fin(false).unmasked().encode(),
        "control frame");
    assertRefused(fromServer, FrameCodec.frame(FrameCodec.PONG).unmasked().lengthBytes(2)
        .payload(new byte[126]).encode(), "control frame");
    assertRefused(fromServer, server(FrameCodec.CONTINUATION, "x"), "no message to continue");
    assertRefused(fromServer, join(
        FrameCodec.frame(FrameCodec.TEXT).fin(false).unmasked().payload(bytes("a")).encode(),
        server(FrameCodec.TEXT, "b")), "inside a fragmented one");
    assertRefused(fromServer, FrameCodec.frame(FrameCodec.BINARY).unmasked()
        .declaredLength(Long.MAX_VALUE).encode(), "over 1024 bytes");
    byte[] topBit = FrameCodec.frame(FrameCodec.BINARY).unmasked().declaredLength(0)
        .lengthBytes(8).encode();
    topBit[2] = (byte) 0x80;
    assertRefused(fromServer, topBit, "top bit");
  }

  private void assertRefused(FrameCodec.Decoder d, byte[] frame, String why) {
    d.reset();
    assertThatThrownBy(() -> d.feed(frame, 0, frame.length))
        .isInstanceOf(FrameCodec.MalformedFrameException.class).hasMessageContaining(why);
  }

  @Test
  void aFrameCanBeBuiltAsNoClientWouldSendIt() {
    byte[] f = FrameCodec.frame(FrameCodec.TEXT).rsv1().unmasked().declaredLength(1000)
        .payload(bytes("hi")).encode();
    assertThat(f).containsExactly(0xC1, 126, 0x03, 0xE8, 'h', 'i');
    byte[] zeroKey = FrameCodec.frame(FrameCodec.PING).maskKey(0).payload(bytes("x")).encode();
    assertThat(zeroKey).containsExactly(0x89, 0x81, 0, 0, 0, 0, 'x');
    assertThatThrownBy(() -> FrameCodec.frame(FrameCodec.TEXT).lengthBytes(0)
        .payload(new byte[200]).encode()).isInstanceOf(IllegalArgumentException.class);
  }
}
