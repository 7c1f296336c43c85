package dev.fanout.sample;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fanout.client.ProtocolClient;
import dev.fanout.protocol.FanoutNode;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * Closed means gone, on the application's own container (Tomcat here; Jetty in
 * fanout-spring-boot-jetty-it): clients that stop reading and never answer are closed by the
 * heartbeat, their slots free at once, and their sockets gone within the close deadline plus 2 s
 * although they never answer the close. On Tomcat that needs the starter's one-second check of
 * the close timeouts (Tomcat's own period is 10 s).
 */
class CloseDeadlineIntegrationTest {

  @Test
  void nonReadersClosedByTheHeartbeatAreGoneWithinTheCloseDeadline() throws Exception {
    Duration deadline = Duration.ofSeconds(1);
    try (ConfigurableApplicationContext app = new SpringApplicationBuilder(
        PaymentsApplication.class).run("--server.port=0", "--fanout.heartbeat.interval=200ms",
            "--fanout.heartbeat.timeout=1s", "--fanout.close-deadline=" + deadline.toMillis()
            + "ms")) {
      int port = ((WebServerApplicationContext) app).getWebServer().getPort();
      FanoutNode node = app.getBean(FanoutNode.class);
      List<ProtocolClient> silent = new ArrayList<>();
      for (int i = 0; i < 3; i++) { // read nothing, answer neither pings nor the close
        ProtocolClient c = ProtocolClient.builder(URI.create("ws://127.0.0.1:" + port + "/ws"))
            .header("Authorization", PaymentsFeedIntegrationTest.basic("ops", "ops"))
            .reading(false).answering(false).connect();
        c.send("{\"type\":\"subscribe\"}");
        silent.add(c);
      }
      // each was let in (101), and the heartbeat closes it 1 s after its last pong (none),
      // perhaps before the next one is in: their slots free at once
      assertThat(silent).allMatch(c -> c.status() == 101);
      await().atMost(Duration.ofSeconds(5)).until(() -> node.status().connections() == 0);
      // ... and their sockets are gone on both sides within the deadline (plus 2 s), each
      // client reading (all at once) what the server had sent first
      silent.forEach(ProtocolClient::resume);
      await().atMost(deadline.plusSeconds(2))
          .until(() -> node.status().closingSockets() == 0
              && silent.stream().allMatch(ProtocolClient::serverClosed));
      silent.forEach(ProtocolClient::close);
    }
  }
}
