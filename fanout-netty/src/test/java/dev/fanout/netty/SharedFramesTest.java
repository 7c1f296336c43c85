package dev.fanout.netty;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseEncoder;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocket13FrameEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The shared frames against the plain path: Netty's own encoder, frame by frame. */
class SharedFramesTest {

  /** What Netty's server encoder writes for a text frame of {@code text}. */
  private static byte[] plain(String text) {
    EmbeddedChannel ch = new EmbeddedChannel(new WebSocket13FrameEncoder(false));
    ch.writeOutbound(new TextWebSocketFrame(text));
    return written(ch);
  }

  /** The bytes {@code ch} wrote (it is finished). */
  private static byte[] written(EmbeddedChannel ch) {
    ByteBuf all = Unpooled.buffer();
    for (ByteBuf b; (b = ch.readOutbound()) != null; ) {
      all.writeBytes(b);
      b.release();
    }
    ch.finishAndReleaseAll();
    byte[] out = ByteBufUtil.getBytes(all);
    all.release();
    return out;
  }

  private static String randomText(Random rnd, int length) {
    StringBuilder sb = new StringBuilder(length);
    while (sb.length() < length) {
      switch (rnd.nextInt(4)) {
        case 0 -> sb.append((char) ('a' + rnd.nextInt(26)));
        case 1 -> sb.append("é\"\\");
        case 2 -> sb.appendCodePoint(0x1F600 + rnd.nextInt(50)); // surrogate pairs
        default -> sb.append((char) (0x4E00 + rnd.nextInt(2000)));
      }
    }
    return sb.toString();
  }

  @Test
  void everyFrameIsTheBytesNettysEncoderWrites() {
    Random rnd = new Random(42);
    SharedFrames frames = new SharedFrames();
    int[] edges = {0, 1, 40, 41, 42, 125, 126, 127, 65535, 65536, 70000};
    List<String> texts = new ArrayList<>();
    for (int length : edges) {
      texts.add("x".repeat(length)); // length of the UTF-8 payload at the header's edges
    }
    for (int i = 0; i < 500; i++) {
      texts.add(randomText(rnd, rnd.nextInt(i % 50 == 0 ? 70_000 : 300)));
    }
    for (String text : texts) {
      for (int recipient = 0; recipient < 3; recipient++) { // a hit and misses alike
        ByteBuf f = frames.frame(text);
        assertThat(ByteBufUtil.getBytes(f)).as("length %d", text.length()).isEqualTo(plain(text));
        f.release();
      }
    }
  }

  /** What Netty's response encoder writes for {@code text} as a chunk of a chunked body. */
  private static byte[] plainChunk(String text) {
    EmbeddedChannel ch = new EmbeddedChannel(new HttpResponseEncoder());
    DefaultHttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
    head.headers().set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
    ch.writeOutbound(head);
    ByteBuf headBytes = ch.readOutbound();
    headBytes.release();
    ch.writeOutbound(new DefaultHttpContent(
        Unpooled.wrappedBuffer(text.getBytes(StandardCharsets.UTF_8))));
    return written(ch);
  }

  /** Server-Sent Events texts: each chunk as the response encoder frames it, and its payload. */
  @Test
  void everyChunkIsTheBytesNettysResponseEncoderWrites() {
    Random rnd = new Random(30);
    SharedFrames chunks = SharedFrames.chunks();
    List<String> texts = new ArrayList<>(List.of("x", ":\n\n", "x".repeat(15), "x".repeat(16),
        "x".repeat(255), "x".repeat(256), "x".repeat(70_000)));
    for (int i = 0; i < 300; i++) {
      texts.add(randomText(rnd, 1 + rnd.nextInt(i % 50 == 0 ? 70_000 : 300)));
    }
    for (String text : texts) {
      for (int recipient = 0; recipient < 2; recipient++) { // a miss, then a hit
        ByteBuf c = chunks.frame(text);
        assertThat(ByteBufUtil.getBytes(c)).as("length %d", text.length())
            .isEqualTo(plainChunk(text));
        ByteBuf payload = SharedFrames.payload(c);
        assertThat(payload.toString(StandardCharsets.UTF_8)).isEqualTo(text);
        payload.release();
      }
    }
  }

  @Test
  void recipientsShareOneBufferAndEvictionNeverBreaksAWrite() throws Exception {
    SharedFrames frames = new SharedFrames();
    String event = "{\"type\":\"event\",\"id\":\"e:1\"}";
    ByteBuf a = frames.frame(event);
    ByteBuf b = frames.frame(event);
    assertThat(a.unwrap()).isSameAs(b.unwrap()); // duplicates of one buffer, not copies
    a.release();
    b.release();
    // many threads, many distinct frames colliding in the slots: every frame handed out stays
    // readable until its holder releases it, whatever was evicted meanwhile
    List<String> texts = new ArrayList<>();
    for (int i = 0; i < 2_000; i++) {
      texts.add("{\"i\":" + i + "}");
    }
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < 8; t++) {
        int seed = t;
        done.add(pool.submit(() -> {
          Random rnd = new Random(seed);
          for (int i = 0; i < 50_000; i++) {
            String text = texts.get(rnd.nextInt(texts.size()));
            ByteBuf f = frames.frame(text);
            assertThat(f.refCnt()).isPositive();
            assertThat(f.getByte(0)).isEqualTo((byte) 0x81);
            assertThat(f.readableBytes()).isEqualTo(2 + text.length());
            f.release();
          }
          return null;
        }));
      }
      for (Future<?> f : done) {
        f.get(60, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
  }
}
