package dev.fanout.core;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** An {@code error} frame is the one Gson wrote before, byte for byte. */
class FramesTest {

  /** What fanout-protocol sent until the error frame moved here. */
  private static String gson(String code, String message) {
    JsonObject error = new JsonObject();
    error.addProperty("type", "error");
    error.addProperty("code", code);
    error.addProperty("message", message);
    return error.toString();
  }

  @Test
  void anErrorIsEncodedAsGsonEncodedItForEveryCharacter() {
    StringBuilder every = new StringBuilder();
    for (char c = 0; c < 0x3000; c++) {
      every.append(c);
    }
    every.append("\ud83d\ude00 \ud800 \udfff \u2028\u2029 \ufeff \uffff");
    String all = every.toString();
    assertThat(Frames.error("bad_request", all)).isEqualTo(gson("bad_request", all));
    assertThat(Frames.error(all, "x")).isEqualTo(gson(all, "x"));
  }

  @Test
  void anErrorIsEncodedAsGsonEncodedItForRandomMessages() {
    Random r = new Random(26);
    char[] interesting = {'"', '\\', '/', '\n', '\r', '\t', '\b', '\f', 0, 0x1f, 0x7f, '<', '>',
        '&', '=', '\'', '\u2028', '\u2029', '\ud83d', '\ude00', 'é', 'a'};
    for (int i = 0; i < 2_000; i++) {
      StringBuilder m = new StringBuilder();
      int n = r.nextInt(40);
      for (int j = 0; j < n; j++) {
        m.append(r.nextBoolean() ? interesting[r.nextInt(interesting.length)]
            : (char) r.nextInt(0x10000));
      }
      String message = m.toString();
      assertThat(Frames.error("forbidden", message)).as("message %d", i)
          .isEqualTo(gson("forbidden", message));
    }
    assertThat(Frames.error("bad_request", null)).isEqualTo(gson("bad_request", null));
  }

  @Test
  void anErrorIsOneJsonObjectThatSaysWhatWasGiven() {
    String message = "field 'topics' must be an array of strings: \"x\"\n\\";
    JsonObject parsed = JsonParser.parseString(Frames.error("bad_request", message))
        .getAsJsonObject();
    assertThat(parsed.get("type").getAsString()).isEqualTo("error");
    assertThat(parsed.get("code").getAsString()).isEqualTo("bad_request");
    assertThat(parsed.get("message").getAsString()).isEqualTo(message);
  }
}
