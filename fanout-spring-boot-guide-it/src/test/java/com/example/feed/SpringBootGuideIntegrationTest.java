package com.example.feed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.gson.JsonObject;
import dev.fanout.client.ProtocolClient;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * docs/spring-boot.md's "A new application" is this module: its Java, its properties and its
 * pom's dependencies are the guide's, word for word, and the application runs here as a newcomer
 * following only the guide would run it: health with its details, Prometheus metrics, and an
 * event published through the application reaching a WebSocket client.
 */
class SpringBootGuideIntegrationTest {
  private static final Path GUIDE = Path.of("../docs/spring-boot.md");
  private static final Path JAVA = Path.of("src/main/java/com/example/feed/FeedApplication.java");
  private static final Path PROPERTIES = Path.of("src/main/resources/application.properties");
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  /** The guide's fenced blocks of one language, in order. */
  static List<String> blocks(String language) throws Exception {
    Matcher m = Pattern.compile("```" + language + "\n(.*?)```", Pattern.DOTALL)
        .matcher(Files.readString(GUIDE));
    List<String> blocks = new ArrayList<>();
    while (m.find()) {
      blocks.add(m.group(1));
    }
    return blocks;
  }

  @Test
  void theGuideShowsTheApplicationAndItsPropertiesWordForWord() throws Exception {
    assertThat(blocks("java")).as("docs/spring-boot.md shows %s", JAVA)
        .contains(Files.readString(JAVA));
    assertThat(blocks("properties")).as("docs/spring-boot.md shows %s", PROPERTIES)
        .contains(Files.readString(PROPERTIES));
  }

  /** The guide's pom: Boot's parent at the build's version, fanout's BOM, these modules. */
  @Test
  void theGuidesPomNamesTheDependenciesThisApplicationIsBuiltWith() throws Exception {
    Document guide = null;
    for (String xml : blocks("xml")) {
      if (xml.contains("<project")) {
        guide = parse(xml);
      }
    }
    assertThat(guide).as("a whole pom in docs/spring-boot.md").isNotNull();
    Element parent = (Element) guide.getElementsByTagName("parent").item(0);
    assertThat(text(parent, "artifactId")).isEqualTo("spring-boot-starter-parent");
    // the build's own Boot (fanout-parent's spring-boot.version; the 4.1 profile leaves it)
    Document build = parse(Files.readString(Path.of("../pom.xml")));
    assertThat(text(parent, "version")).isEqualTo(
        text(build.getDocumentElement(), "spring-boot.version"));
    Element bom = (Element) ((Element) guide.getElementsByTagName("dependencyManagement")
        .item(0)).getElementsByTagName("dependency").item(0);
    assertThat(text(bom, "artifactId")).isEqualTo("fanout-bom");
    assertThat(text(bom, "version")).isEqualTo(System.getProperty("fanout.version"));
    assertThat(text(bom, "scope")).isEqualTo("import");
    Document module = parse(Files.readString(Path.of("pom.xml")));
    assertThat(dependencies(guide)).isNotEmpty().isEqualTo(dependencies(module));
  }

  @Test
  void theGuidesApplicationServesHealthMetricsAndTheFeed() throws Exception {
    try (ConfigurableApplicationContext app = new SpringApplicationBuilder(FeedApplication.class)
        .run("--server.port=0")) {
      int port = ((WebServerApplicationContext) app).getWebServer().getPort();
      String base = "http://127.0.0.1:" + port;

      HttpResponse<String> health = get(base + "/actuator/health/fanout");
      assertThat(health.statusCode()).as(health.body()).isEqualTo(200);
      assertThat(health.body()).contains("\"status\":\"UP\"", "\"stream\":\"in-memory\"",
          "\"link\":\"UP\"", "\"connections\":0");
      assertThat(get(base + "/actuator/health/readiness").statusCode()).isEqualTo(200);

      URI ws = URI.create("ws://127.0.0.1:" + port + "/ws");
      for (String page : List.of("http://localhost:8080", "http://127.0.0.1:8080")) {
        assertThat(ProtocolClient.status(ws, Map.of("Origin", page))).as(page).isEqualTo(101);
      }
      assertThat(ProtocolClient.status(ws, Map.of("Origin", "http://localhost:3000")))
          .isEqualTo(403);

      try (ProtocolClient dashboard = ProtocolClient.connect(ws,
          Map.of("Origin", "http://127.0.0.1:8080"))) {
        dashboard.send("{\"type\":\"subscribe\",\"merchants\":[\"mch_1\"]}");
        dashboard.nextOfType("subscribed");
        HttpResponse<String> published = HTTP.send(HttpRequest.newBuilder(
                URI.create(base + "/payments"))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString("{\"paymentId\":\"p1\","
                + "\"merchantId\":\"mch_1\",\"method\":\"card\",\"status\":\"captured\"}"))
            .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(published.statusCode()).as(published.body()).isEqualTo(200);
        String id = published.body().replaceAll(".*\"id\":\"([^\"]+)\".*", "$1");
        await().atMost(Duration.ofSeconds(10)).until(() -> dashboard.eventIds().contains(id));
        JsonObject data = dashboard.events().get(0).getAsJsonObject("data");
        assertThat(data.get("status").getAsString()).isEqualTo("captured");

        String metrics = get(base + "/actuator/prometheus").body();
        assertThat(metrics).contains("fanout_connections_active 1.0", "fanout_events_in_total");
      }
    }
  }

  private static HttpResponse<String> get(String url) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create(url)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static Document parse(String xml) throws Exception {
    return DocumentBuilderFactory.newInstance().newDocumentBuilder()
        .parse(new ByteArrayInputStream(xml.getBytes(StandardCharsets.UTF_8)));
  }

  private static String text(Element e, String child) {
    return e.getElementsByTagName(child).item(0).getTextContent().strip();
  }

  /** groupId:artifactId of the project's own dependencies, test ones left out. */
  private static List<String> dependencies(Document pom) {
    Element project = pom.getDocumentElement();
    List<String> all = new ArrayList<>();
    NodeList children = project.getChildNodes();
    for (int i = 0; i < children.getLength(); i++) {
      if (children.item(i) instanceof Element e && e.getTagName().equals("dependencies")) {
        NodeList deps = e.getElementsByTagName("dependency");
        for (int j = 0; j < deps.getLength(); j++) {
          Element d = (Element) deps.item(j);
          if (d.getElementsByTagName("scope").getLength() == 0
              || !text(d, "scope").equals("test")) {
            all.add(text(d, "groupId") + ":" + text(d, "artifactId"));
          }
        }
      }
    }
    return all;
  }
}
