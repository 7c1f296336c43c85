package dev.fanout.netty;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpResponseEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A stream's bytes on HTTP/1.1: the head, chunks framed once per text, the last chunk. */
class SseChannelTest {
  private final EmbeddedChannel ch =
      new EmbeddedChannel(new HttpResponseEncoder(), new ChannelInboundHandlerAdapter());
  private final SseChannel sse = new SseChannel(ch.pipeline().lastContext(),
      Duration.ofSeconds(1), SharedFrames.chunks());

  private List<String> written() {
    List<String> out = new ArrayList<>();
    for (ByteBuf b; (b = ch.readOutbound()) != null; ) {
      out.add(b.toString(StandardCharsets.UTF_8));
      b.release();
    }
    return out;
  }

  @Test
  void theHeadThenEachTextAsAChunkThenTheEnd() {
    sse.start(Map.of("Content-Type", "text/event-stream"));
    sse.write("data: é\n\n", failure -> assertThat(failure).isNull());
    sse.writeAll(List.of(":\n\n", "data: 2\n\n"), failure -> assertThat(failure).isNull());
    sse.close();
    List<String> out = written();
    assertThat(out.get(0)).startsWith("HTTP/1.1 200 OK\r\n")
        .contains("Content-Type: text/event-stream\r\n")
        .contains("transfer-encoding: chunked\r\n").endsWith("\r\n\r\n");
    assertThat(out.subList(1, out.size())).containsExactly("a\r\ndata: é\n\n\r\n", // 10 bytes
        "3\r\n:\n\n\r\n", "9\r\ndata: 2\n\n\r\n", "0\r\n\r\n");
    assertThat(ch.isOpen()).isFalse();
  }

  /** A close that reaches the loop before the head's task (from another thread) ends after it. */
  @Test
  void aCloseBeforeTheHeadEndsTheStreamAfterIt() {
    sse.close();
    assertThat(written()).isEmpty();
    sse.start(Map.of("Content-Type", "text/event-stream"));
    List<String> out = written();
    assertThat(out).hasSize(2);
    assertThat(out.get(0)).startsWith("HTTP/1.1 200 OK\r\n");
    assertThat(out.get(1)).isEqualTo("0\r\n\r\n");
    assertThat(ch.isOpen()).isFalse();
  }
}
