package dev.fanout.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fanout.core.EventId;
import dev.fanout.core.InMemoryStream;
import dev.fanout.core.Scope;
import dev.fanout.core.Transport;
import dev.fanout.core.internal.FakeScheduler;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A stream's life on a recording {@link SseSink} under a fake clock: the head waits for the
 * subscription's answer and says whether it recovered, 204 for a principal that can never be
 * served, the keep-alive comment at the SSE heartbeat interval, and counts by transport.
 */
class SseStreamTest {
  private final FakeScheduler clock = new FakeScheduler();
  private final InMemoryStream stream = InMemoryStream.create(1000);
  private FanoutNode node;

  private FanoutNode node(Consumer<FanoutNode.Builder> settings) {
    FanoutNode.Builder b = FanoutNode.builder().stream(stream).snapshotSize(5)
        .threads(new FanoutNode.Threads(Runnable::run, Runnable::run, Runnable::run,
            Runnable::run, clock, List.of()));
    settings.accept(b);
    node = b.build().start();
    return node;
  }

  @AfterEach
  void stop() {
    if (node != null) {
      node.close();
    }
  }

  /** What a transport was told, in order. */
  static final class RecordingSink implements SseSink {
    final List<String> calls = new ArrayList<>();
    final StringBuilder body = new StringBuilder();
    Map<String, String> head;
    int status;

    @Override
    public synchronized void refuse(int status, Map<String, String> headers, String body) {
      this.status = status;
      this.head = headers;
      this.body.append(body);
      calls.add("refuse");
    }

    @Override
    public synchronized void accept() {
      calls.add("accept");
    }

    @Override
    public synchronized void start(Map<String, String> headers) {
      status = 200;
      head = headers;
      calls.add("start");
    }

    @Override
    public void write(String text, Transport.SendCallback done) {
      synchronized (this) {
        calls.add("write");
        body.append(text);
      }
      done.completed(null);
    }

    @Override
    public synchronized void close() {
      calls.add("close");
    }

    synchronized String body() {
      return body.toString();
    }
  }

  private static Handshake request(String query, String... lastEventId) {
    return Handshake.of(URI.create("/events" + query),
        lastEventId.length == 0 ? Map.of() : Map.of("Last-Event-ID", List.of(lastEventId)),
        null, null);
  }

  @Test
  void theHeadWaitsForTheAnswerAndSaysWhetherTheStreamRecovered() {
    node(b -> { });
    EventId first = stream.publish("mch_1", Map.of(), "{\"n\":1}");
    stream.publish("mch_1", Map.of(), "{\"n\":2}");

    RecordingSink fresh = new RecordingSink();
    SseRequest.serve(node, request("?topics=mch_1"), fresh);
    assertThat(fresh.calls).startsWith("accept", "start", "write");
    assertThat(fresh.head).containsEntry(SseRequest.RECOVERED, "false")
        .containsEntry("Content-Type", SseRequest.CONTENT_TYPE)
        .containsEntry("Cache-Control", "no-store");
    assertThat(fresh.body()).startsWith("retry: ").contains("\n:\n\nevent: subscribed\n");

    RecordingSink resumed = new RecordingSink();
    SseRequest.serve(node, request("?topics=mch_1", first.toString()), resumed);
    assertThat(resumed.head).containsEntry(SseRequest.RECOVERED, "true");
    assertThat(resumed.body()).contains("\"n\":2").doesNotContain("\"n\":1");

    RecordingSink lost = new RecordingSink();
    SseRequest.serve(node, request("?topics=mch_1&lastEventId=zzzzzz:7"), lost);
    assertThat(lost.head).containsEntry(SseRequest.RECOVERED, "false");
  }

  /** A heartbeat between admission and acceptance once wrote before the head (no headers). */
  @Test
  void nothingIsWrittenBeforeTheTransportAcceptsTheStream() {
    node(b -> b.heartbeat(Duration.ofSeconds(1), Duration.ofSeconds(5)));
    RecordingSink sink = new RecordingSink();
    SseSession s = new SseSession(node, sink);
    assertThat(s.open(Authentication.allow("ops", Scope.all()), null)).isTrue();
    clock.advance(Duration.ofSeconds(3)); // pings and keep-alives fall due
    assertThat(sink.calls).isEmpty();
    sink.accept();
    s.stream("{\"type\":\"subscribe\",\"topics\":[\"mch_1\"]}", null,
        Map.of("Content-Type", SseRequest.CONTENT_TYPE));
    assertThat(sink.calls).startsWith("accept", "start", "write");
    assertThat(sink.head).containsEntry(SseRequest.RECOVERED, "false");
  }

  @Test
  void aStreamClosedBeforeItIsAcceptedEndsWithItsHead() {
    node(b -> { });
    RecordingSink sink = new RecordingSink();
    SseSession s = new SseSession(node, sink);
    assertThat(s.open(Authentication.allow("ops", Scope.all()), null)).isTrue();
    node.shutdown(Duration.ZERO); // the paced close reaches it before the transport accepted it
    sink.accept();
    s.stream("{\"type\":\"subscribe\"}", null, Map.of("Content-Type", SseRequest.CONTENT_TYPE));
    assertThat(sink.calls).containsExactly("accept", "start", "close");
  }

  @Test
  void aPrincipalThatCanNeverBeServedGets204AndNoBody() {
    node(b -> b.authenticator(h -> Authentication.allow("nobody", Scope.none())));
    RecordingSink sink = new RecordingSink();
    assertThat(SseRequest.serve(node, request("?topics=mch_1"), sink)).isNull();
    assertThat(sink.calls).containsExactly("refuse");
    assertThat(sink.status).isEqualTo(204);
    assertThat(sink.body()).isEmpty();
    assertThat(sink.head).doesNotContainKey("Content-Type");
    assertThat(node.status().connections()).isZero();
    assertThat(node.refusedHandshakes()).containsKey("204 no topic in scope");

    RecordingSink some = new RecordingSink();
    node.close();
    node(b -> b.authenticator(h -> Authentication.allow("ops", Scope.of("mch_2"))));
    SseRequest.serve(node, request("?topics=mch_1"), some);
    assertThat(some.status).as("a topic outside a scope that allows some is 403").isEqualTo(403);
  }

  @Test
  void anIdleStreamGetsAKeepAliveCommentEachSseHeartbeatInterval() {
    node(b -> b.sseHeartbeat(Duration.ofSeconds(15)).heartbeat(Duration.ofSeconds(100),
        Duration.ofSeconds(200)));
    RecordingSink sink = new RecordingSink();
    SseRequest.serve(node, request("?topics=mch_1"), sink);
    int before = comments(sink.body());
    clock.advance(Duration.ofSeconds(14));
    assertThat(comments(sink.body())).isEqualTo(before);
    clock.advance(Duration.ofSeconds(1));
    assertThat(comments(sink.body())).isEqualTo(before + 1);
    clock.advance(Duration.ofSeconds(45));
    assertThat(comments(sink.body())).isEqualTo(before + 4);
  }

  @Test
  void connectionsAreCountedByTransport() {
    node(b -> { });
    RecordingSink sink = new RecordingSink();
    SseSession s = SseRequest.serve(node, request("?topics=mch_1"), sink);
    node.open(Authentication.allow("ops", Scope.all()), null, new InMemorySocket());
    assertThat(node.status().connectionsByTransport())
        .containsExactlyInAnyOrderEntriesOf(Map.of("websocket", 1, "sse", 1));
    s.closed();
    assertThat(node.status().connectionsByTransport())
        .containsExactlyInAnyOrderEntriesOf(Map.of("websocket", 1, "sse", 0));
  }

  private static int comments(String body) {
    return (int) body.lines().filter(":"::equals).count();
  }
}
