package dev.fanout.jakarta;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The shared bytes against the plain path: {@code getBytes(UTF_8)} of each text. */
class SharedBytesTest {

  @Test
  void everyTextsBytesAreItsUtf8AndOneInstanceSharesThem() {
    Random rnd = new Random(30);
    SharedBytes shared = new SharedBytes();
    List<String> texts = new ArrayList<>();
    for (int i = 0; i < 2000; i++) { // more texts than slots: hits, misses and evictions
      StringBuilder sb = new StringBuilder("event: event\nid: e:" + i + "\ndata: ");
      for (int n = rnd.nextInt(200); n > 0; n--) {
        switch (rnd.nextInt(3)) {
          case 0 -> sb.append((char) ('a' + rnd.nextInt(26)));
          case 1 -> sb.append("é\"");
          default -> sb.appendCodePoint(0x1F600 + rnd.nextInt(50)); // surrogate pairs
        }
      }
      texts.add(sb.append("\n\n").toString());
    }
    for (int round = 0; round < 3; round++) {
      for (int i = 0; i < texts.size(); i++) {
        String text = texts.get(rnd.nextInt(Math.min(texts.size(), i + 1)));
        assertThat(shared.of(text)).isEqualTo(text.getBytes(StandardCharsets.UTF_8));
      }
    }
    String event = texts.get(0);
    assertThat(shared.of(event)).isSameAs(shared.of(event)); // one array for every stream
    assertThat(shared.of(new String(event))).isEqualTo(shared.of(event)); // another instance
  }
}
