package dev.fanout.jakarta;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fanout.client.ProtocolClient;
import dev.fanout.core.EventId;
import dev.fanout.jakarta.sample.JettyFeed;
import dev.fanout.protocol.Authenticator;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * docs/embedding.md's Jetty example is {@link JettyFeed}: it runs here, end to end, and the guide
 * must show its text word for word, so the guide cannot rot.
 */
class EmbeddingGuideIntegrationTest {
  private static final Path SAMPLE =
      Path.of("src/test/java/dev/fanout/jakarta/sample/JettyFeed.java");
  private static final Path GUIDE = Path.of("../docs/embedding.md");

  @Test
  void theGuidesJettyExampleServesAndStopsWithNothingLeftRunning() throws Exception {
    Set<Thread> before = Set.copyOf(Thread.getAllStackTraces().keySet());
    JettyFeed feed = new JettyFeed(0, "https://ops.example.com", Authenticator.allowAll());
    URI uri = URI.create("ws://127.0.0.1:" + feed.port() + "/ws");
    ProtocolClient client =
        ProtocolClient.connect(uri, Map.of("Origin", "https://ops.example.com"));
    client.send("{\"type\":\"subscribe\"}");
    client.nextOfType("subscribed");
    EventId id = feed.publish("mch_1", Map.of("status", "captured"), "{\"amount\":12}");
    await().atMost(Duration.ofSeconds(10)).until(() -> client.eventIds().contains(id.toString()));
    assertThat(ProtocolClient.status(uri, Map.of("Origin", "https://evil.example"))).isEqualTo(403);

    feed.close();
    assertThat(client.awaitClose()).isEqualTo(1001);
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(
        Thread.getAllStackTraces().keySet().stream()
            .filter(t -> t.isAlive() && !t.isDaemon() && !before.contains(t)
                && !t.getName().startsWith("awaitility")) // the poller running this check
            .map(Thread::getName).collect(Collectors.toList()))
        .as("threads the example left running").isEmpty());
  }

  @Test
  void theGuideShowsTheExampleWordForWord() throws Exception {
    String file = Files.readString(SAMPLE);
    String from = "  // ---- embedding.md: from here ----\n";
    String to = "  // ---- embedding.md: to here ----\n";
    String excerpt = file.substring(file.indexOf(from) + from.length(), file.indexOf(to))
        .lines().map(l -> l.startsWith("  ") ? l.substring(2) : l)
        .collect(Collectors.joining("\n"));
    assertThat(Files.readString(GUIDE)).as("docs/embedding.md shows %s", SAMPLE)
        .contains(excerpt);
  }
}
