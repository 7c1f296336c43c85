package dev.fanout.example;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fanout.client.ProtocolClient;
import dev.fanout.core.EventId;
import example.JettyFeed;
import example.TomcatFeed;
import example.TyrusFeed;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * docs/embedding.md's programs are fanout-guides' JettyFeed, TomcatFeed and TyrusFeed: each runs
 * here, end to end, and the guide must show each file and the pom's dependencies word for word,
 * so the guide cannot rot.
 */
class EmbeddingGuideIntegrationTest {
  private static final String ORIGIN = "https://ops.example.com";
  private static final Path GUIDE = Path.of("../docs/embedding.md");
  private static final Path PROGRAMS = Path.of("../fanout-guides/src/main/java/example");

  /** One of the guide's programs, started on a free port. */
  interface Feed extends AutoCloseable {
    int port();

    EventId publish(String topic, Map<String, String> attributes, String json);
  }

  interface Starter {
    Feed start() throws Exception;
  }

  static Stream<Starter> programs() {
    return Stream.of(() -> {
      JettyFeed f = new JettyFeed("127.0.0.1", 0, ORIGIN);
      return feed(f::port, f::publish, f);
    }, () -> {
      TomcatFeed f = new TomcatFeed("127.0.0.1", 0, ORIGIN);
      return feed(f::port, f::publish, f);
    }, () -> {
      TyrusFeed f = new TyrusFeed(0, ORIGIN);
      return feed(f::port, f::publish, f);
    });
  }

  private interface Publish {
    EventId publish(String topic, Map<String, String> attributes, String json);
  }

  private static Feed feed(java.util.function.IntSupplier port, Publish publish,
      AutoCloseable close) {
    return new Feed() {
      @Override
      public int port() {
        return port.getAsInt();
      }

      @Override
      public EventId publish(String topic, Map<String, String> attributes, String json) {
        return publish.publish(topic, attributes, json);
      }

      @Override
      public void close() throws Exception {
        close.close();
      }
    };
  }

  @ParameterizedTest
  @MethodSource("programs")
  void eachProgramServesRefusesAHostileOriginAndStopsWithNothingLeftRunning(Starter program)
      throws Exception {
    Set<Thread> before = Set.copyOf(Thread.getAllStackTraces().keySet());
    Feed feed = program.start();
    URI uri = URI.create("ws://127.0.0.1:" + feed.port() + "/ws");
    ProtocolClient client = ProtocolClient.connect(uri, Map.of("Origin", ORIGIN));
    client.send("{\"type\":\"subscribe\"}");
    client.nextOfType("subscribed");
    EventId id = feed.publish("mch_1", Map.of("status", "captured"), "{\"amount\":12}");
    await().atMost(Duration.ofSeconds(10)).until(() -> client.eventIds().contains(id.toString()));
    assertThat(ProtocolClient.status(uri, Map.of("Origin", "https://evil.example")))
        .isEqualTo(403);

    feed.close();
    assertThat(client.awaitClose()).isEqualTo(1001);
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(
        Thread.getAllStackTraces().keySet().stream()
            .filter(t -> t.isAlive() && !t.isDaemon() && !before.contains(t)
                && !t.getName().startsWith("awaitility")) // the poller running this check
            .map(Thread::getName).collect(Collectors.toList()))
        .as("threads the program left running").isEmpty());
  }

  @Test
  void theGuideShowsEachProgramAndThePomWordForWord() throws Exception {
    String guide = Files.readString(GUIDE);
    for (String program : new String[] {"JettyFeed", "TomcatFeed", "TyrusFeed"}) {
      assertThat(guide).as("docs/embedding.md shows %s.java whole", program)
          .contains(Files.readString(PROGRAMS.resolve(program + ".java")));
    }
    String pom = Files.readString(Path.of("../fanout-guides/pom.xml"));
    String from = "  <!-- ==== embedding.md: pom from here ==== -->\n";
    String to = "  <!-- ==== embedding.md: pom to here ==== -->\n";
    String excerpt = pom.substring(pom.indexOf(from) + from.length(), pom.indexOf(to));
    assertThat(guide).as("docs/embedding.md shows fanout-guides' pom's dependencies")
        .contains(excerpt);
  }
}
