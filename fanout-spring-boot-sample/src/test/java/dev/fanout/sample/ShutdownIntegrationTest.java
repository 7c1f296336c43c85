package dev.fanout.sample;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fanout.client.ProtocolClient;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.boot.availability.ApplicationAvailability;
import org.springframework.boot.availability.ReadinessState;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;

/** Spring's shutdown tells every client 1001 Going Away, while the web server still writes. */
class ShutdownIntegrationTest {

  @Test
  void closingTheApplicationSendsGoingAwayToEveryClient() throws Exception {
    ConfigurableApplicationContext app = new SpringApplicationBuilder(PaymentsApplication.class)
        .run("--server.port=0", "--fanout.shutdown-spread=200ms");
    int port = ((WebServerApplicationContext) app).getWebServer().getPort();
    List<ProtocolClient> clients = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      ProtocolClient c = ProtocolClient.connect(URI.create("ws://127.0.0.1:" + port + "/ws"),
          Map.of("Authorization", PaymentsFeedIntegrationTest.basic("ops", "ops")));
      c.send("{\"type\":\"subscribe\"}");
      c.nextOfType("subscribed");
      clients.add(c);
    }
    ApplicationAvailability availability = app.getBean(ApplicationAvailability.class);
    assertThat(availability.getReadinessState()).isEqualTo(ReadinessState.ACCEPTING_TRAFFIC);

    app.close();

    for (ProtocolClient c : clients) {
      assertThat(c.awaitClose()).isEqualTo(1001);
    }
    assertThat(availability.getReadinessState()).isEqualTo(ReadinessState.REFUSING_TRAFFIC);
  }
}
