package dev.fanout.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fanout.protocol.FanoutNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.web.SecurityFilterChain;

/**
 * The starter's Server-Sent Events endpoint ({@code fanout.sse-path}, {@code /events}) on a real
 * Tomcat and a real Jetty: a stream subscribed from its query gets its events with their ids, and
 * a bad query gets 400 with a JSON body.
 */
class SseStarterIntegrationTest {

  /** The starter on the application's server; Spring Security lets /events through. */
  @SpringBootConfiguration(proxyBeanMethods = false)
  @EnableAutoConfiguration
  static class App {
    @Bean
    SecurityFilterChain security(HttpSecurity http) throws Exception {
      return http.authorizeHttpRequests(a -> a.requestMatchers("/events").permitAll()
          .anyRequest().authenticated()).build();
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"tomcat", "jetty"})
  void eventsStreamOnTheApplicationsOwnServer(String container) throws Exception {
    String without = container.equals("tomcat") ? ContainerTuningIntegrationTest.JETTY
        : ContainerTuningIntegrationTest.TOMCAT;
    try (ConfigurableApplicationContext app = new SpringApplicationBuilder(App.class).run(
        "--server.port=0", "--server.address=127.0.0.1",
        "--spring.autoconfigure.exclude=" + without)) {
      int port = ContainerTuningIntegrationTest.webServer(app).getPort();
      FanoutNode node = app.getBean(FanoutNode.class);
      HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
      URI events = URI.create("http://127.0.0.1:" + port + "/events");
      HttpResponse<String> bad = http.send(HttpRequest.newBuilder(
          URI.create(events + "?lastEventId=nonsense")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(bad.statusCode()).isEqualTo(400);
      assertThat(bad.body()).contains("\"accepted\":false", "\"code\":\"bad_request\"");

      HttpResponse<Stream<String>> stream = http.send(HttpRequest.newBuilder(
          URI.create(events + "?topics=a")).build(), HttpResponse.BodyHandlers.ofLines());
      assertThat(stream.statusCode()).isEqualTo(200);
      List<String> lines = new CopyOnWriteArrayList<>();
      Thread reader = new Thread(() -> {
        try {
          Iterator<String> it = stream.body().iterator();
          while (it.hasNext()) {
            lines.add(it.next());
          }
        } catch (RuntimeException closed) {
          // closed below
        }
      });
      reader.setDaemon(true);
      reader.start();
      await().atMost(Duration.ofSeconds(10)).until(() -> lines.contains("event: subscribed"));
      node.publish("b", Map.of(), "{\"n\":0}");
      String id = node.publish("a", Map.of(), "{\"n\":1}").toString();
      await().atMost(Duration.ofSeconds(10)).until(() -> lines.contains("id: " + id));
      assertThat(lines).filteredOn(l -> l.startsWith("id: ")).containsExactly("id: " + id);
      stream.body().close();
    }
  }
}
