package dev.fanout.sample;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fanout.client.Warmup;
import dev.fanout.protocol.FanoutNode;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.springframework.boot.availability.ApplicationAvailability;
import org.springframework.boot.availability.AvailabilityChangeEvent;
import org.springframework.boot.availability.ReadinessState;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ApplicationContext;
import org.springframework.context.ApplicationListener;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * {@code fanout.warmup.*} in the sample service (Tomcat, Spring Security in front of the
 * endpoint): the warm-up's connections are made and closed before Spring says ready, and one that
 * is refused does not keep the application from becoming ready.
 */
class WarmupIntegrationTest {

  @Test
  void theWarmUpIsDoneBeforeTheApplicationIsReady() {
    AtomicReference<Double> openedWhenReady = new AtomicReference<>();
    String credentials = PaymentsFeedIntegrationTest.basic("ops", "ops");
    try (ConfigurableApplicationContext app = start(openedWhenReady,
        "--fanout.warmup.connections=4",
        "--fanout.warmup.headers.Authorization=" + credentials)) {
      assertThat(openedWhenReady.get()).isEqualTo(Warmup.ROUNDS * 4.0);
      FanoutNode node = app.getBean(FanoutNode.class);
      await().until(() -> node.status().connections() == 0);
    }
  }

  @Test
  void aRefusedWarmUpStopsAndTheApplicationBecomesReadyAnyway() {
    AtomicReference<Double> openedWhenReady = new AtomicReference<>();
    try (ConfigurableApplicationContext app =
        start(openedWhenReady, "--fanout.warmup.connections=4")) { // no credentials: 401
      assertThat(openedWhenReady.get()).isZero();
      assertThat(app.getBean(ApplicationAvailability.class).getReadinessState())
          .isEqualTo(ReadinessState.ACCEPTING_TRAFFIC);
    }
  }

  /** Starts the sample; records the connections it had opened when it became ready. */
  private static ConfigurableApplicationContext start(AtomicReference<Double> openedWhenReady,
      String... args) {
    ApplicationListener<AvailabilityChangeEvent<?>> ready = event -> {
      if (event.getState() == ReadinessState.ACCEPTING_TRAFFIC) {
        MeterRegistry registry = ((ApplicationContext) event.getSource())
            .getBean(MeterRegistry.class);
        openedWhenReady.set(registry.get("fanout_connections_opened").counter().count());
      }
    };
    String[] all = new String[args.length + 1];
    all[0] = "--server.port=0";
    System.arraycopy(args, 0, all, 1, args.length);
    return new SpringApplicationBuilder(PaymentsApplication.class).listeners(ready).run(all);
  }
}
