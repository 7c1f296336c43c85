package dev.fanout.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** How protocol v1's frames become SSE events, and where the browser's resume point stands. */
class SseSessionTest {
  private final SseSession sse = new SseSession(null, null);

  private static String event(String id) {
    return "{\"type\":\"event\",\"id\":\"" + id + "\",\"data\":{\"a\":1}}";
  }

  @Test
  void anEventCarriesItsIdAndTheFrameAsData() {
    assertThat(sse.format(event("e1:7"))).isEqualTo("event: event\nid: e1:7\n"
        + "data: {\"type\":\"event\",\"id\":\"e1:7\",\"data\":{\"a\":1}}\n\n");
  }

  @Test
  void thePositionBecomesTheIdOnlyAfterTheReplay() {
    String subscribed = sse.format("{\"type\":\"subscribed\",\"recovered\":true,\"missed\":2,"
        + "\"replay\":2,\"position\":\"e1:9\"}");
    assertThat(subscribed).doesNotContain("id:");
    assertThat(sse.format(event("e1:5"))).doesNotContain("e1:9");
    assertThat(sse.format(event("e1:6"))).endsWith("\n\nid: e1:9\n\n");
    assertThat(sse.format(event("e1:10"))).doesNotContain("e1:9"); // live: its own id only
  }

  @Test
  void aDroppedNoticeCancelsThePosition() {
    sse.format("{\"type\":\"subscribed\",\"recovered\":true,\"missed\":2,\"replay\":2,"
        + "\"position\":\"e1:9\"}");
    sse.format(event("e1:5"));
    sse.format("{\"type\":\"dropped\",\"count\":3}");
    assertThat(sse.format(event("e1:6"))).doesNotContain("e1:9");
  }

  @Test
  void aPositionNoNewerThanTheLastReplayedEventIsNotSent() {
    sse.format("{\"type\":\"subscribed\",\"recovered\":false,\"missed\":0,\"replay\":1,"
        + "\"position\":\"e1:6\"}");
    assertThat(sse.format(event("e1:6"))).doesNotContain("\n\nid:");
  }

  @Test
  void aQuietSubscriptionGetsThePositionAtOnceAndAFreshStartForgetsTheOldId() {
    assertThat(sse.format("{\"type\":\"subscribed\",\"recovered\":true,\"missed\":0,"
        + "\"replay\":0,\"position\":\"e1:9\"}")).contains("\nid: e1:9\n");
    assertThat(sse.format("{\"type\":\"subscribed\",\"recovered\":false,\"missed\":0,"
        + "\"replay\":3}")).contains("\nid\n");
  }

  @Test
  void withPartitionsEveryIdIsWhereTheClientStandsInEach() {
    sse.positions = true; // a server whose subscribe takes a position over partitions
    sse.format("{\"type\":\"subscribed\",\"recovered\":false,\"missed\":0,\"replay\":2,"
        + "\"position\":\"0.a:9,1.b:4\"}");
    assertThat(sse.format(event("0.a:8"))).contains("\nid: 0.a:8\n");
    assertThat(sse.format(event("1.b:4")))
        .contains("\nid: 0.a:8,1.b:4\n").endsWith("\n\nid: 0.a:9,1.b:4\n\n");
    assertThat(sse.format(event("1.b:5"))).contains("\nid: 0.a:9,1.b:5\n");
    assertThat(sse.format(event("0.c:1"))).contains("\nid: 0.c:1,1.b:5\n"); // a new epoch
  }

  @Test
  void aServerThatTakesOneIdOnlyGetsTheEventsOwn() {
    sse.positions = false;
    sse.format("{\"type\":\"subscribed\",\"recovered\":false,\"missed\":0,\"replay\":1,"
        + "\"position\":\"0.a:9,1.b:4\"}");
    assertThat(sse.format(event("0.a:8"))).contains("\nid: 0.a:8\n");
    assertThat(sse.format(event("1.b:5"))).contains("\nid: 1.b:5\n").doesNotContain("id: 0.a");
  }

  /**
   * The shared texts ({@link EventTexts}) against the plain path: random streams of subscribed,
   * event and dropped frames over one to three partitions and two epochs, replays with and
   * without positions, fed to streams that share texts and to one that builds each itself; every
   * text must be the same, and an event's text the same instance for the streams that share.
   */
  @Test
  void sharedTextsAreWhatEachStreamWouldBuild() {
    Random random = new Random(30);
    for (int world = 0; world < 200; world++) {
      SseSession plain = new SseSession(null, null);
      plain.shared = false;
      SseSession a = new SseSession(null, null);
      SseSession b = new SseSession(null, null);
      boolean positions = random.nextBoolean();
      for (SseSession s : List.of(plain, a, b)) {
        s.positions = positions;
      }
      int partitions = 1 + random.nextInt(3);
      for (int step = 0; step < 60; step++) {
        String frame = randomFrame(random, partitions);
        String expected = plain.format(frame);
        String first = a.format(frame);
        String second = b.format(frame);
        assertThat(first).as("world %d step %d: %s", world, step, frame).isEqualTo(expected);
        assertThat(second).isEqualTo(expected);
      }
    }
    String frame = event("e1:1");
    SseSession a = new SseSession(null, null);
    SseSession b = new SseSession(null, null);
    assertThat(a.format(frame)).isSameAs(b.format(frame)); // one text for both streams
  }

  private static String randomFrame(Random random, int partitions) {
    int kind = random.nextInt(10);
    String epoch = random.nextInt(4) == 0 ? "f" : "e";
    int p = random.nextInt(partitions);
    String id = (partitions > 1 ? p + "." : "") + epoch + ":" + (1 + random.nextInt(50));
    if (kind == 0) {
      StringBuilder position = new StringBuilder();
      for (int i = 0; i < partitions; i++) {
        position.append(i == 0 ? "" : ",").append(partitions > 1 ? i + "." : "").append(epoch)
            .append(':').append(1 + random.nextInt(50));
      }
      return "{\"type\":\"subscribed\",\"recovered\":" + random.nextBoolean() + ",\"missed\":0,"
          + "\"replay\":" + random.nextInt(4)
          + (random.nextBoolean() ? ",\"position\":\"" + position + "\"" : "") + "}";
    }
    if (kind == 1) {
      return "{\"type\":\"dropped\",\"count\":" + (1 + random.nextInt(5)) + "}";
    }
    return random.nextInt(8) == 0
        ? "{\"type\":\"event\",\"id\":\"" + id + "\",\"data\":{\r\n\"a\":1}}"
        : EVENTS.computeIfAbsent(id, SseSessionTest::event); // the hub's one instance per event
  }

  private static final Map<String, String> EVENTS = new HashMap<>();

  @Test
  void lineBreaksInTheDataStartNewDataLines() {
    String frame = "{\"type\":\"event\",\"id\":\"e1:1\",\"data\":{\r\n\"a\":\r1,\n\"b\":2}}";
    assertThat(sse.format(frame)).isEqualTo("event: event\nid: e1:1\n"
        + "data: {\"type\":\"event\",\"id\":\"e1:1\",\"data\":{\ndata: \"a\":\ndata: 1,\n"
        + "data: \"b\":2}}\n\n");
  }
}
