package dev.fanout.core;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import java.io.IOException;
import java.io.StringReader;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The JSON check event data passes before it is framed, against Gson's strict reader. */
class JsonTextTest {

  @Test
  void acceptsOneValueAndRefusesEverythingElse() {
    for (String ok : List.of("{}", "[]", " {\"a\":[1,-2.5e+3,true,false,null,\"x\\u00e9\\n\"]} ",
        "\"text\"", "0", "-0.1", "1E9", "{\"a\":{\"b\":{}}}", "[[[]]]", "\"\\\\\\\"\\/\"")) {
      assertThat(JsonText.isOneValue(ok)).as(ok).isTrue();
    }
    for (String bad : List.of("", " ", "}{", "{} {}", "{\"a\":1},\"type\":\"subscribed\"",
        "{\"a\":1,}", "[1,]", "{'a':1}", "NaN", "Infinity", "-Infinity", "0x10", "01", "1.",
        ".5", "1e", "+1", "tru", "nul", "{\"a\"}", "{\"a\":}", "\"unterminated", "\"\\x\"",
        "\"\\u12G4\"", "\"raw\ttab\"", "[1 2]", "{\"a\":1 \"b\":2}", "[", "{", "\u0000")) {
      assertThat(JsonText.isOneValue(bad)).as(bad).isFalse();
    }
    assertThat(JsonText.isOneValue("[".repeat(1000) + "]".repeat(1000))).isTrue();
    assertThat(JsonText.isOneValue("[".repeat(1001) + "]".repeat(1001))).isFalse();
    assertThat(JsonText.isOneValue("[".repeat(100_000))).as("deep and unclosed").isFalse();
  }

  /** Random values and random damage to them: the check agrees with Gson, strict, every time. */
  @Test
  void agreesWithAStrictParserOnRandomTexts() throws IOException {
    Random random = new Random(42);
    for (int round = 0; round < 20_000; round++) {
      StringBuilder b = new StringBuilder();
      value(random, b, 0);
      String text = b.toString();
      if (random.nextBoolean()) {
        text = damage(random, text);
      }
      assertThat(JsonText.isOneValue(text)).as(text).isEqualTo(gsonAccepts(text));
    }
  }

  private static void value(Random r, StringBuilder b, int depth) {
    int kind = depth > 6 ? r.nextInt(4) : r.nextInt(6);
    switch (kind) {
      case 0 -> b.append(r.nextBoolean() ? "true" : r.nextBoolean() ? "false" : "null");
      case 1 -> b.append(List.of("0", "-1", "12.5", "3e7", "-0.25E-2", "100").get(r.nextInt(6)));
      case 2, 3 -> b.append(List.of("\"\"", "\"a b\"", "\"\\u00e9\\n\"", "\"\\\"q\\\"\"",
          "\"é\"").get(r.nextInt(5)));
      case 4 -> {
        b.append('[');
        int n = r.nextInt(4);
        for (int i = 0; i < n; i++) {
          if (i > 0) {
            b.append(r.nextBoolean() ? "," : ", ");
          }
          value(r, b, depth + 1);
        }
        b.append(']');
      }
      default -> {
        b.append('{');
        int n = r.nextInt(4);
        for (int i = 0; i < n; i++) {
          if (i > 0) {
            b.append(',');
          }
          b.append("\"k").append(i).append("\":");
          value(r, b, depth + 1);
        }
        b.append('}');
      }
    }
  }

  private static String damage(Random r, String text) {
    String noise = "{}[],:\"\\ 0-+.eEtfnx\t";
    StringBuilder b = new StringBuilder(text);
    int edits = 1 + r.nextInt(3);
    for (int i = 0; i < edits; i++) {
      int at = b.length() == 0 ? 0 : r.nextInt(b.length() + 1);
      switch (r.nextInt(3)) {
        case 0 -> b.insert(at, noise.charAt(r.nextInt(noise.length())));
        case 1 -> {
          if (at < b.length()) {
            b.deleteCharAt(at);
          }
        }
        default -> {
          if (at < b.length()) {
            b.setCharAt(at, noise.charAt(r.nextInt(noise.length())));
          }
        }
      }
    }
    return b.toString();
  }

  /**
   * Gson, strict, plus the one rule it does not apply: a raw control character inside a string
   * (RFC 8259 requires it escaped, and browsers' JSON.parse refuses it).
   */
  private static boolean gsonAccepts(String text) throws IOException {
    boolean inString = false;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (inString && c == '\\') {
        i++;
      } else if (c == '"') {
        inString = !inString;
      } else if (inString && c < 0x20) {
        return false;
      }
    }
    JsonReader reader = new JsonReader(new StringReader(text));
    reader.setStrictness(Strictness.STRICT);
    try {
      JsonToken first = reader.peek();
      if (first == JsonToken.END_DOCUMENT || first == JsonToken.END_OBJECT
          || first == JsonToken.END_ARRAY || first == JsonToken.NAME) {
        return false; // not the start of a value
      }
      reader.skipValue();
      return reader.peek() == JsonToken.END_DOCUMENT;
    } catch (IOException | IllegalStateException e) {
      return false;
    }
  }
}
