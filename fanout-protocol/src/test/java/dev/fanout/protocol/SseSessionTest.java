package dev.fanout.protocol;

import static org.assertj.core.api.Assertions.assertThat;

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

  @Test
  void lineBreaksInTheDataStartNewDataLines() {
    String frame = "{\"type\":\"event\",\"id\":\"e1:1\",\"data\":{\r\n\"a\":\r1,\n\"b\":2}}";
    assertThat(sse.format(frame)).isEqualTo("event: event\nid: e1:1\n"
        + "data: {\"type\":\"event\",\"id\":\"e1:1\",\"data\":{\ndata: \"a\":\ndata: 1,\n"
        + "data: \"b\":2}}\n\n");
  }
}
