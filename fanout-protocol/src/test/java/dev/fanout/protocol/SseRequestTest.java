package dev.fanout.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The subscribe message a stream's query (and Last-Event-ID) stands for. */
class SseRequestTest {
  private static final Vocabulary WORDS = new Vocabulary(Set.of("merchants"),
      Map.of("methods", "method"));

  private static String message(String query, String... lastEventId) throws Exception {
    Handshake h = Handshake.of(URI.create("/events" + query),
        lastEventId.length == 0 ? Map.of() : Map.of("Last-Event-ID", List.of(lastEventId)),
        null, null);
    return SseRequest.subscribeMessage(h, WORDS);
  }

  @Test
  void listsAreCommaSeparatedOrRepeatedAndFiltersNamed() throws Exception {
    assertThat(message("?topics=a,b&topics=c&filter.method=card,wallet&token=x"))
        .isEqualTo("{\"type\":\"subscribe\",\"topics\":[\"a\",\"b\",\"c\"],"
            + "\"filters\":{\"method\":[\"card\",\"wallet\"]}}");
    assertThat(message("?merchants=m%201,,m2&methods=card"))
        .isEqualTo("{\"type\":\"subscribe\",\"merchants\":[\"m 1\",\"m2\"],"
            + "\"methods\":[\"card\"]}");
    assertThat(message("")).isEqualTo("{\"type\":\"subscribe\"}");
  }

  @Test
  void theHeaderWinsOverTheParameter() throws Exception {
    assertThat(message("?lastEventId=e:1", "e:9")).endsWith("\"lastEventId\":\"e:9\"}");
    assertThat(message("?lastEventId=e:1")).endsWith("\"lastEventId\":\"e:1\"}");
    assertThat(message("?lastEventId=")).doesNotContain("lastEventId");
  }

  @Test
  void ambiguousRequestsAreRefused() {
    assertThatThrownBy(() -> message("?lastEventId=e:1&lastEventId=e:2"))
        .hasMessageContaining("lastEventId once");
    assertThatThrownBy(() -> message("", "e:1", "e:2")).hasMessageContaining("one Last-Event-ID");
    assertThatThrownBy(() -> message("?" + "x&".repeat(1000) + "x"))
        .hasMessageContaining("more than 1000 query parameters");
  }
}
