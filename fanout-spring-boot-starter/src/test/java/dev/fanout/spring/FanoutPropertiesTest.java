package dev.fanout.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fanout.core.Hub;
import dev.fanout.core.InMemoryStream;
import dev.fanout.protocol.FanoutNode;
import dev.fanout.redis.RedisStream;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.WebApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.web.socket.server.standard.ServerEndpointExporter;

/** Properties bind, and a bad value fails startup with a message naming the property. */
class FanoutPropertiesTest {
  /** No servlet container here: nothing to export the endpoint to. */
  @Configuration(proxyBeanMethods = false)
  static class NoContainer {
    @Bean
    ServerEndpointExporter serverEndpointExporter() {
      return new ServerEndpointExporter() {
        @Override
        public void afterPropertiesSet() {}

        @Override
        public void afterSingletonsInstantiated() {}
      };
    }
  }

  private final WebApplicationContextRunner runner = new WebApplicationContextRunner()
      .withConfiguration(AutoConfigurations.of(FanoutAutoConfiguration.class))
      .withUserConfiguration(NoContainer.class);

  @Test
  void propertiesBindAndWithoutARedisUriTheBusIsInMemory() {
    runner.withPropertyValues("fanout.queue-size=64", "fanout.heartbeat.interval=5s",
            "fanout.heartbeat.timeout=15s", "fanout.allowed-origins=https://ops.example.com",
            "fanout.aliases.topics=merchants", "fanout.aliases.filters.methods=method",
            "fanout.backpressure=drop-oldest", "fanout.limits.max-topics=10",
            "fanout.warmup.connections=500",
            "fanout.warmup.headers.Authorization=Basic b3BzOm9wcw==")
        .run(ctx -> {
          assertThat(ctx).hasNotFailed();
          FanoutProperties p = ctx.getBean(FanoutProperties.class);
          assertThat(p.getQueueSize()).isEqualTo(64);
          assertThat(p.getHeartbeat().getTimeout()).isEqualTo(Duration.ofSeconds(15));
          assertThat(p.getBackpressure()).isEqualTo("drop-oldest");
          assertThat(p.getAliases().getFilters()).containsEntry("methods", "method");
          assertThat(p.getWarmup().getConnections()).isEqualTo(500);
          assertThat(p.getWarmup().getHeaders()).containsValue("Basic b3BzOm9wcw==");
          assertThat(ctx.getBean(FanoutNode.class).bus()).isInstanceOf(InMemoryStream.class);
          assertThat(ctx.getBean(FanoutNode.class).settings().heartbeatTimeout())
              .isEqualTo(Duration.ofSeconds(15));
        });
  }

  @Test
  void theDefaultsShownToIdesAreTheLibrarysOwn() {
    FanoutProperties p = new FanoutProperties(); // literals, so the metadata can show them
    assertThat(p.getQueueSize()).isEqualTo(Hub.DEFAULT_OUTBOX_CAPACITY);
    assertThat(p.getRetention()).isEqualTo(RedisStream.DEFAULT_RETENTION);
  }

  @Test
  void aBadValueFailsStartupNamingTheProperty() {
    for (String[] bad : new String[][] {
        {"fanout.queue-size=0", "fanout.queue-size"},
        {"fanout.heartbeat.interval=-1s", "fanout.heartbeat.interval"},
        {"fanout.redis-uri=http://redis:6379", "fanout.redis-uri"},
        {"fanout.path=ws", "fanout.path"},
        {"fanout.warmup.connections=-1", "fanout.warmup.connections"},
        {"fanout.backpressure=sometimes", "fanout.backpressure"}}) {
      runner.withPropertyValues(bad[0]).run(ctx -> {
        assertThat(ctx).as(bad[0]).hasFailed();
        assertThat(causes(ctx.getStartupFailure())).as(bad[0]).contains(bad[1]);
      });
    }
  }

  @Test
  void aTimeoutNotLongerThanTheIntervalIsRefusedWithBothValues() {
    runner.withPropertyValues("fanout.heartbeat.interval=30s", "fanout.heartbeat.timeout=10s")
        .run(ctx -> assertThat(causes(ctx.getStartupFailure()))
            .contains("fanout.heartbeat.timeout (PT10S) must be longer than "
                + "fanout.heartbeat.interval (PT30S)"));
  }

  private static String causes(Throwable t) {
    StringBuilder sb = new StringBuilder();
    for (Throwable c = t; c != null; c = c.getCause()) {
      sb.append(c.getMessage()).append('\n');
    }
    return sb.toString();
  }
}
