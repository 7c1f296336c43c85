package dev.fanout.client;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * The table of resume cases (resume-cases.json) against {@link ResumePoint}; fanout-client.js's
 * Node tests run the same table against the browser's client.
 */
class ResumePointTest {

  static JsonObject table() throws IOException {
    try (InputStream in = ResumePointTest.class.getResourceAsStream("/resume-cases.json")) {
      return JsonParser.parseReader(new InputStreamReader(in, StandardCharsets.UTF_8))
          .getAsJsonObject();
    }
  }

  @TestFactory
  Stream<DynamicTest> everyCaseOfTheTableHolds() throws IOException {
    List<DynamicTest> tests = new ArrayList<>();
    for (JsonElement c : table().getAsJsonArray("cases")) {
      JsonObject kase = c.getAsJsonObject();
      tests.add(DynamicTest.dynamicTest(kase.get("name").getAsString(), () -> run(kase)));
    }
    assertThat(tests).hasSizeGreaterThan(10);
    return tests.stream();
  }

  private static void run(JsonObject kase) {
    ResumePoint resume = new ResumePoint();
    List<String> resets = new ArrayList<>();
    boolean connected = false;
    int n = 0;
    for (JsonElement s : kase.getAsJsonArray("steps")) {
      JsonObject step = s.getAsJsonObject();
      String at = "step " + n++ + " " + step;
      if (step.has("connect")) {
        JsonElement expected = step.get("connect");
        assertThat(resume.subscribing()).as(at)
            .isEqualTo(expected.isJsonNull() ? null : expected.getAsString());
        connected = true;
      } else if (step.has("receive")) {
        ResumePoint.Reset reset = resume.receive(step.getAsJsonObject("receive"));
        if (reset != null) {
          resets.add(reset.reason());
        }
      } else if (step.has("disconnect")) {
        resume.disconnected();
        connected = false;
      } else if (step.has("changeFilters")) {
        resume.forget();
        if (connected) {
          assertThat(resume.subscribing()).as(at).isNull();
        }
      } else {
        throw new AssertionError("unknown step " + step);
      }
    }
    List<String> expected = new ArrayList<>();
    kase.getAsJsonArray("resets").forEach(r -> expected.add(r.getAsString()));
    assertThat(resets).isEqualTo(expected);
  }

  @Test
  void idsOutsideTheProtocolResumeFromTheLastEventProcessed() {
    ResumePoint resume = new ResumePoint();
    resume.subscribing();
    resume.subscribed(false, "e:9", 0);
    resume.event("42"); // the seed's plain ids
    assertThat(resume.resumeFrom()).isEqualTo("42");
  }
}
