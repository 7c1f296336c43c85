package dev.fanout.spring;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.fanout.core.Hub;
import dev.fanout.core.InMemoryStream;
import dev.fanout.jwt.JwtAlgorithm;
import dev.fanout.jwt.JwtAuthenticator;
import dev.fanout.jwt.ScopeClaim;
import dev.fanout.jwt.TokenSources;
import dev.fanout.protocol.Authenticator;
import dev.fanout.protocol.FanoutNode;
import dev.fanout.redis.RedisStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.WebApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.security.oauth2.jwt.BadJwtException;
import org.springframework.security.oauth2.jwt.JwtDecoder;
import org.springframework.util.unit.DataSize;
import org.springframework.web.socket.server.standard.ServerEndpointExporter;

/** Properties bind, and a bad value fails startup with a message naming the property. */
class FanoutPropertiesTest {
  /** 32 bytes: the shortest HS256 secret fanout-jwt accepts. */
  private static final String SECRET = "0123456789abcdef0123456789abcdef";

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
            "fanout.warmup.connections=500", "fanout.redis.min-replicas=1",
            "fanout.redis.replica-timeout=250ms",
            "fanout.warmup.headers.Authorization=Basic b3BzOm9wcw==")
        .run(ctx -> {
          assertThat(ctx).hasNotFailed();
          FanoutProperties p = ctx.getBean(FanoutProperties.class);
          assertThat(p.getQueueSize()).isEqualTo(64);
          assertThat(p.getHeartbeat().getTimeout()).isEqualTo(Duration.ofSeconds(15));
          assertThat(p.getBackpressure()).isEqualTo("drop-oldest");
          assertThat(p.getAliases().getFilters()).containsEntry("methods", "method");
          assertThat(p.getWarmup().getConnections()).isEqualTo(500);
          assertThat(p.getRedis().getMinReplicas()).isEqualTo(1);
          assertThat(p.getRedis().getReplicaTimeout()).isEqualTo(Duration.ofMillis(250));
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
    FanoutProperties.Jwt jwt = p.getJwt();
    JwtAuthenticator library = JwtAuthenticator.builder().secret(SECRET).build();
    assertThat(jwt.getScopeClaim()).isEqualTo(ScopeClaim.DEFAULT_NAME);
    assertThat(jwt.getCookieName()).isEqualTo(TokenSources.DEFAULT_COOKIE);
    assertThat(jwt.getMaxTokenBytes()).isEqualTo(TokenSources.DEFAULT_MAX_TOKEN_BYTES);
    assertThat(jwt.getClockSkew()).isEqualTo(library.clockSkew());
    assertThat(jwt.getJwks().getRefreshInterval()).isEqualTo(library.jwksRefreshInterval());
    assertThat(jwt.getJwks().getMaxAge()).isEqualTo(library.jwksMaxAge());
    assertThat(jwt.getJwks().getWait()).isEqualTo(library.jwksWait());
    assertThat(jwt.getJwks().getTimeout()).isEqualTo(library.jwksTimeout());
    assertThat(FanoutProperties.ALGORITHMS).containsExactlyElementsOf(
        Arrays.stream(JwtAlgorithm.values()).map(Enum::name).toList());
    FanoutNode node = FanoutNode.builder().build();
    try {
      assertThat(p.getCloseDeadline()).isEqualTo(node.settings().closeDeadline());
    } finally {
      node.close();
    }
  }

  /** IDEs show what the configuration processor found: every property says what it does. */
  @Test
  void everyPropertyInTheMetadataHasADescription() throws Exception {
    String metadata;
    try (InputStream in = getClass().getResourceAsStream(
        "/META-INF/spring-configuration-metadata.json")) {
      metadata = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    JsonArray properties = JsonParser.parseString(metadata).getAsJsonObject()
        .getAsJsonArray("properties");
    List<String> undescribed = new ArrayList<>();
    Map<String, String> defaults = new HashMap<>();
    for (JsonElement e : properties) {
      JsonObject property = e.getAsJsonObject();
      String name = property.get("name").getAsString();
      if (!property.has("description") || property.get("description").getAsString().isBlank()) {
        undescribed.add(name);
      }
      if (property.has("defaultValue")) {
        defaults.put(name, property.get("defaultValue").toString());
      }
    }
    assertThat(properties.size()).isGreaterThan(40);
    assertThat(undescribed).isEmpty();
    assertThat(defaults).containsEntry("fanout.namespace", "\"fanout\"")
        .containsEntry("fanout.send-buffer", "\"64KB\"")
        .containsEntry("fanout.close-deadline", "\"5s\"")
        .containsEntry("fanout.jwt.cookie-name", "\"fanout_token\"")
        .containsEntry("fanout.jwt.jwks.refresh-interval", "\"30s\"")
        .containsEntry("fanout.backpressure", "\"disconnect\"");
  }

  @Test
  void aBadValueFailsStartupNamingTheProperty() {
    for (String[] bad : new String[][] {
        {"fanout.queue-size=0", "fanout.queue-size"},
        {"fanout.heartbeat.interval=-1s", "fanout.heartbeat.interval"},
        {"fanout.redis-uri=http://redis:6379", "fanout.redis-uri"},
        {"fanout.redis.min-replicas=-1", "fanout.redis.min-replicas"},
        {"fanout.redis.replica-timeout=0s", "fanout.redis.replica-timeout"},
        {"fanout.path=ws", "fanout.path"},
        {"fanout.warmup.connections=-1", "fanout.warmup.connections"},
        {"fanout.backpressure=sometimes", "fanout.backpressure"},
        {"fanout.close-deadline=0s", "fanout.close-deadline"},
        {"fanout.send-buffer=-1B", "fanout.send-buffer"},
        {"fanout.jwt.secret=too-short", "fanout.jwt.secret must be at least 32 bytes"},
        {"fanout.jwt.public-key=not a key", "fanout.jwt.public-key"},
        {"fanout.jwt.jwks-url=ftp://login.example.com/jwks", "fanout.jwt.jwks-url"},
        {"fanout.jwt.algorithms=HS512", "fanout.jwt.algorithms: 'HS512'"},
        {"fanout.jwt.clock-skew=10m", "fanout.jwt.clock-skew"},
        {"fanout.jwt.max-token-bytes=0", "fanout.jwt.max-token-bytes"},
        {"fanout.jwt.jwks.wait=30s", "fanout.jwt.jwks.wait"},
        {"fanout.jwt.scope-claim= ", "fanout.jwt.scope-claim"}}) {
      runner.withPropertyValues(bad[0]).run(ctx -> {
        assertThat(ctx).as(bad[0]).hasFailed();
        assertThat(causes(ctx.getStartupFailure())).as(bad[0]).contains(bad[1]);
      });
    }
  }

  @Test
  void jwtSettingsThatOnlyFailTogetherNameTheirProperties() {
    for (String[][] bad : new String[][][] {
        {{"fanout.jwt.secret=" + SECRET, "fanout.jwt.jwks-url=https://login.example.com/jwks"},
            {"set only one of fanout.jwt.secret, fanout.jwt.public-key and fanout.jwt.jwks-url, "
                + "got 2: secret, jwks-url"}},
        {{"fanout.jwt.secret=" + SECRET, "fanout.jwt.algorithms=RS256"},
            {"fanout.jwt: a secret verifies HS256 only"}},
        {{"fanout.jwt.public-key=-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"},
            {"fanout.jwt.public-key: "}},
        {{"fanout.jwt.jwks-url=https://login.example.com/jwks",
            "fanout.jwt.jwks.max-age=10s"}, {"fanout.jwt: the JWKS max age (PT10S)"}}}) {
      runner.withPropertyValues(bad[0]).run(ctx -> {
        assertThat(ctx).as(bad[0][0]).hasFailed();
        assertThat(causes(ctx.getStartupFailure())).as(bad[0][0]).contains(bad[1][0])
            .doesNotContain(SECRET);
      });
    }
  }

  @Test
  void aJwtKeySourceMakesTheNodesAuthenticatorAJwtAuthenticator() {
    runner.withPropertyValues("fanout.jwt.secret=" + SECRET, "fanout.jwt.scope-claim=merchants",
            "fanout.jwt.issuer=https://login.example.com/", "fanout.jwt.cookie-name=",
            "fanout.jwt.max-token-bytes=4096", "fanout.jwt.clock-skew=5s")
        .run(ctx -> {
          assertThat(ctx).hasNotFailed();
          JwtAuthenticator jwt = ctx.getBean(JwtAuthenticator.class);
          assertThat(ctx.getBean(FanoutNode.class).settings().authenticator()).isSameAs(jwt);
          assertThat(jwt.algorithms()).containsExactly(JwtAlgorithm.HS256);
          assertThat(jwt.scopeClaim().name()).isEqualTo("merchants");
          assertThat(jwt.issuer()).contains("https://login.example.com/");
          assertThat(jwt.clockSkew()).isEqualTo(Duration.ofSeconds(5));
          assertThat(jwt.tokenSources().cookieName()).isEmpty();
          assertThat(jwt.tokenSources().maxTokenBytes()).isEqualTo(4096);
        });
  }

  @Test
  void theApplicationsOwnAuthenticatorWinsOverFanoutJwt() {
    Authenticator own = Authenticator.allowAll();
    runner.withPropertyValues("fanout.jwt.secret=" + SECRET)
        .withBean("own", Authenticator.class, () -> own)
        .run(ctx -> {
          assertThat(ctx).doesNotHaveBean(JwtAuthenticator.class);
          assertThat(ctx.getBean(FanoutNode.class).settings().authenticator()).isSameAs(own);
        });
  }

  @Test
  void withoutAKeySourceASpringJwtDecoderVerifiesTheTokens() {
    JwtDecoder decoder = token -> {
      throw new BadJwtException("no");
    };
    runner.withBean(JwtDecoder.class, () -> decoder).run(ctx -> {
      Authenticator auth = ctx.getBean(FanoutNode.class).settings().authenticator();
      assertThat(auth).isInstanceOf(DecoderAuthenticator.class);
      assertThat(ctx).doesNotHaveBean(JwtAuthenticator.class);
    });
    runner.withBean(JwtDecoder.class, () -> decoder)
        .withPropertyValues("fanout.jwt.secret=" + SECRET) // fanout.jwt's key wins
        .run(ctx -> assertThat(ctx.getBean(FanoutNode.class).settings().authenticator())
            .isInstanceOf(JwtAuthenticator.class));
    runner.run(ctx -> assertThat(ctx).doesNotHaveBean(Authenticator.class)); // nothing: all in
  }

  @Test
  void anOptionalModuleThatIsMissingIsNamedInOneLine() {
    runner.withClassLoader(new FilteredClassLoader("dev.fanout.redis."))
        .withPropertyValues("fanout.redis-uri=redis://127.0.0.1:1")
        .run(ctx -> assertThat(causes(ctx.getStartupFailure())).contains(
            "fanout.redis-uri is set but fanout-redis is not on the classpath: add the "
                + "dependency dev.fanout:fanout-redis"));
    runner.withClassLoader(new FilteredClassLoader("dev.fanout.jwt."))
        .withPropertyValues("fanout.jwt.secret=" + SECRET)
        .run(ctx -> assertThat(causes(ctx.getStartupFailure())).contains(
            "fanout.jwt.secret is set but fanout-jwt is not on the classpath: add the "
                + "dependency dev.fanout:fanout-jwt"));
  }

  /**
   * Actuator's health, Spring Security and either container's Spring Boot module are optional
   * (Tomcat's WebSocket implementation stays: the Jakarta API needs one).
   */
  @Test
  void theStarterStartsWithoutItsOptionalCollaborators() {
    runner.withClassLoader(new FilteredClassLoader("org.springframework.boot.health.",
            "org.springframework.boot.tomcat.", "org.eclipse.jetty.",
            "org.springframework.security."))
        .run(ctx -> {
          assertThat(ctx).hasNotFailed().hasSingleBean(FanoutNode.class)
              .doesNotHaveBean(FanoutHealthIndicator.class)
              .doesNotHaveBean("fanoutTomcatProcessPeriod")
              .doesNotHaveBean("fanoutJettySendBuffer");
        });
    runner.run(ctx -> assertThat(ctx).hasSingleBean(FanoutHealthIndicator.class)
        .hasBean("fanoutTomcatProcessPeriod").hasBean("fanoutJettySendBuffer"));
  }

  @Test
  void closeDeadlineAndSendBufferBind() {
    runner.withPropertyValues("fanout.close-deadline=2s", "fanout.send-buffer=16KB").run(ctx -> {
      assertThat(ctx.getBean(FanoutNode.class).settings().closeDeadline())
          .isEqualTo(Duration.ofSeconds(2));
      assertThat(ctx.getBean(FanoutProperties.class).getSendBuffer())
          .isEqualTo(DataSize.ofKilobytes(16));
    });
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
