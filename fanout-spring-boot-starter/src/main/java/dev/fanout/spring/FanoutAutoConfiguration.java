package dev.fanout.spring;

import dev.fanout.client.Warmup;
import dev.fanout.core.Backpressure;
import dev.fanout.core.Bus;
import dev.fanout.core.EventFilter;
import dev.fanout.core.FanoutMetrics;
import dev.fanout.core.InMemoryStream;
import dev.fanout.jakarta.FanoutWebSocket;
import dev.fanout.jakarta.HandshakeFilter;
import dev.fanout.jakarta.SseServlet;
import dev.fanout.micrometer.FanoutMeters;
import dev.fanout.protocol.Authenticator;
import dev.fanout.protocol.FanoutNode;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.websocket.server.ServerEndpointConfig;
import java.net.URI;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.boot.ApplicationRunner;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.boot.web.servlet.ServletRegistrationBean;
import org.springframework.context.ApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;
import org.springframework.core.Ordered;
import org.springframework.core.env.Environment;
import org.springframework.util.ClassUtils;
import org.springframework.web.context.WebApplicationContext;
import org.springframework.web.socket.server.standard.ServerEndpointExporter;

/**
 * A live feed in a Spring Boot servlet application: a {@link FanoutNode} (its stream is Redis when
 * {@code fanout.redis-uri} is set and fanout-redis is on the classpath, else in memory), protocol
 * v1 at {@code fanout.path} on the application's own servlet container (Tomcat or Jetty, each
 * tuned as fanout needs: {@link ContainerTuning}), its handshake filter, metrics on the
 * application's {@link MeterRegistry}, a health indicator, and the node's start and shutdown in
 * Spring's lifecycle. Each bean backs off when the application defines its own of that type; an
 * {@link Authenticator} bean and {@link EventFilter} beans are used when present, and without an
 * {@link Authenticator} fanout-jwt authenticates JWTs ({@link JwtConfiguration}: {@code
 * fanout.jwt.*}, or Spring Security's {@code JwtDecoder}). Services publish with the node, a
 * {@link dev.fanout.core.Publisher}.
 */
@AutoConfiguration(afterName = {
    "org.springframework.boot.micrometer.metrics.autoconfigure"
        + ".CompositeMeterRegistryAutoConfiguration",
    "org.springframework.boot.micrometer.metrics.autoconfigure.export.prometheus"
        + ".PrometheusMetricsExportAutoConfiguration",
    "org.springframework.boot.security.oauth2.server.resource.autoconfigure.servlet"
        + ".OAuth2ResourceServerAutoConfiguration"})
@Import({ContainerTuning.Tomcat.class, ContainerTuning.Jetty.class, JwtConfiguration.class})
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
@ConditionalOnClass(ServerEndpointExporter.class)
@EnableConfigurationProperties(FanoutProperties.class)
public class FanoutAutoConfiguration {
  private static final Logger log = LoggerFactory.getLogger(FanoutAutoConfiguration.class);

  /**
   * The node: stream, hub, protocol and threads. {@link FanoutLifecycle} starts it and shuts it
   * down (1001 to every client while the web server still writes); the context's own close of
   * it afterwards does nothing. A {@link Bus} bean of the application's is used as its stream,
   * and the node closes it at shutdown.
   */
  @Bean
  @ConditionalOnMissingBean
  public FanoutNode fanoutNode(FanoutProperties props, ObjectProvider<Bus> stream,
      ObjectProvider<Authenticator> authenticator, ObjectProvider<EventFilter> filters,
      ObjectProvider<FanoutMetrics> metrics, ApplicationContext context) {
    ClassLoader classes = context.getClassLoader();
    FanoutProperties.Limits limits = props.getLimits();
    FanoutProperties.Heartbeat heartbeat = props.getHeartbeat();
    if (heartbeat.getTimeout().compareTo(heartbeat.getInterval()) <= 0) {
      throw new IllegalArgumentException("fanout.heartbeat.timeout (" + heartbeat.getTimeout()
          + ") must be longer than fanout.heartbeat.interval (" + heartbeat.getInterval() + ")");
    }
    FanoutNode.Builder b = FanoutNode.builder()
        .allowedOrigins(props.getAllowedOrigins())
        .allowMissingOrigin(props.isAllowMissingOrigin())
        .heartbeat(heartbeat.getInterval(), heartbeat.getTimeout())
        .sseHeartbeat(heartbeat.getSse())
        .maxConnections(limits.getMaxConnections())
        .maxMessageBytes(limits.getMaxMessageBytes())
        .maxTopics(limits.getMaxTopics())
        .subscribeRate(limits.getSubscribesPerSecond(), limits.getSubscribeBurst())
        .snapshotSize(props.getSnapshotSize())
        .outboxCapacity(props.getQueueSize())
        .backpressure(Backpressure.named(props.getBackpressure()))
        .batchLinger(props.getBatchLinger())
        .closeDeadline(props.getCloseDeadline());
    if (limits.getMaxConnectionsPerPrincipal() > 0) {
      b.maxConnectionsPerPrincipal(limits.getMaxConnectionsPerPrincipal());
    }
    props.getAliases().getTopics().forEach(b::topicAlias);
    props.getAliases().getFilters().forEach(b::filterAlias);
    FanoutProperties.Jwt jwt = props.getJwt();
    if (jwt.keySources() > 0 && !ClassUtils.isPresent("dev.fanout.jwt.JwtAuthenticator",
        classes)) {
      throw new IllegalStateException("fanout.jwt." + jwt.keySourceNames().get(0) + " is set but "
          + "fanout-jwt is not on the classpath: add the dependency dev.fanout:fanout-jwt");
    }
    Authenticator own = authenticator.getIfAvailable();
    if (own != null) {
      // fanout.jwt.* makes a JwtAuthenticator unless the application has an Authenticator
      if (jwt.keySources() > 0
          && !own.getClass().getName().equals("dev.fanout.jwt.JwtAuthenticator")) {
        log.warn("fanout: fanout.jwt.* is not used: the application defines its own "
            + "Authenticator ({})", own.getClass().getName());
      }
      b.authenticator(own);
    }
    List<EventFilter> all = filters.orderedStream().toList();
    if (!all.isEmpty()) {
      EventFilter every = e -> all.stream().allMatch(f -> f.test(e));
      b.filter(auth -> every);
    }
    metrics.ifAvailable(b::metrics);
    if (props.getAllowedOrigins().isEmpty()) {
      log.warn("fanout: no fanout.allowed-origins: browsers cannot connect (set the origins of "
          + "your pages, or * for any)");
    }
    return b.stream(stream.getIfAvailable(() -> stream(props, classes))).build();
  }

  /** Redis when fanout.redis-uri is set (fanout-redis must be on the classpath), else memory. */
  private static Bus stream(FanoutProperties props, ClassLoader classes) {
    if (props.getRedisUri() == null) {
      log.info("fanout: in-memory stream (set fanout.redis-uri for several nodes)");
      return InMemoryStream.create(props.getRetention());
    }
    if (!ClassUtils.isPresent("dev.fanout.redis.RedisBus", classes)) {
      throw new IllegalStateException("fanout.redis-uri is set but fanout-redis is not on the "
          + "classpath: add the dependency dev.fanout:fanout-redis");
    }
    return RedisStreams.open(props);
  }

  /** Deployed on the servlet container by {@link ServerEndpointExporter}. */
  @Bean
  public ServerEndpointConfig fanoutEndpoint(FanoutNode node, FanoutProperties props) {
    return FanoutWebSocket.builder(node).path(props.getPath())
        .compression(props.isCompression()).build().endpointConfig();
  }

  @Bean
  @ConditionalOnMissingBean
  public ServerEndpointExporter serverEndpointExporter() {
    return new ServerEndpointExporter();
  }

  /**
   * Refused handshakes get their status (401, 403, 426, 503) before the upgrade. It runs after
   * Spring Security's filters, so an {@link Authenticator} sees the authenticated user.
   */
  @Bean
  public FilterRegistrationBean<HandshakeFilter> fanoutHandshakeFilter(FanoutNode node,
      FanoutProperties props) {
    FilterRegistrationBean<HandshakeFilter> r =
        new FilterRegistrationBean<>(new HandshakeFilter(node));
    r.addUrlPatterns(props.getPath());
    r.setOrder(Ordered.LOWEST_PRECEDENCE - 100);
    return r;
  }

  /**
   * Protocol v1 as Server-Sent Events at {@code fanout.sse-path} ({@code /events}; empty for
   * none), through the Servlet async API: the same node, checks and limits as the WebSocket.
   */
  @Bean
  public ServletRegistrationBean<SseServlet> fanoutSse(FanoutNode node, FanoutProperties props) {
    ServletRegistrationBean<SseServlet> r = new ServletRegistrationBean<>(new SseServlet(node));
    if (props.getSsePath().isEmpty()) {
      r.setEnabled(false);
    } else {
      r.addUrlMappings(props.getSsePath());
    }
    r.setName("fanoutSse");
    r.setAsyncSupported(true);
    return r;
  }

  /** Starts the node; at shutdown, 1001 to every client within the phase's timeout, then stop. */
  @Bean
  public FanoutLifecycle fanoutLifecycle(FanoutNode node, FanoutProperties props,
      Environment env, ApplicationContext context) {
    Duration phase = env.getProperty("spring.lifecycle.timeout-per-shutdown-phase",
        Duration.class, Duration.ofSeconds(30));
    Duration spread = props.getShutdownSpread().compareTo(phase.dividedBy(2)) < 0
        ? props.getShutdownSpread() : phase.dividedBy(2);
    return new FanoutLifecycle(node, spread, context);
  }

  /**
   * The warm-up ({@code fanout.warmup.connections}; none by default). An application runner: it
   * runs once the web server serves and before Spring reports the application ready, so the
   * readiness probe says ready only after it.
   */
  @Bean
  @ConditionalOnMissingBean(name = "fanoutWarmup")
  public ApplicationRunner fanoutWarmup(FanoutProperties props, ApplicationContext context,
      FanoutNode node) {
    return args -> {
      FanoutProperties.Warmup warmup = props.getWarmup();
      if (warmup.getConnections() == 0
          || !(context instanceof WebServerApplicationContext web) || web.getWebServer() == null) {
        return;
      }
      String contextPath = context instanceof WebApplicationContext servlet
          && servlet.getServletContext() != null
          ? servlet.getServletContext().getContextPath() : "";
      Map<String, String> headers = new LinkedHashMap<>(warmup.getHeaders());
      headers.putAll(node.warmupHeaders()); // not clients: not counted as such
      if (headers.keySet().stream().noneMatch("Origin"::equalsIgnoreCase)) {
        props.getAllowedOrigins().stream().filter(o -> !o.equals("*")).findFirst()
            .ifPresent(origin -> headers.put("Origin", origin));
      }
      URI ws = URI.create("ws://127.0.0.1:" + web.getWebServer().getPort() + contextPath
          + props.getPath());
      Warmup.run(ws, headers, warmup.getConnections());
    };
  }

  /** fanout's meters on the application's registry. */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(MeterRegistry.class)
  @ConditionalOnBean(MeterRegistry.class)
  static class Metrics {
    @Bean
    @ConditionalOnMissingBean
    FanoutMeters fanoutMeters(MeterRegistry registry) {
      return new FanoutMeters(registry);
    }

    /** The gauges read the node (connections, queues, its stream's link) once it exists. */
    @Bean
    SmartInitializingSingleton fanoutGauges(FanoutMeters meters, ObjectProvider<FanoutNode> node) {
      return () -> node.ifAvailable(meters::bind);
    }
  }

  /**
   * {@code /actuator/health}'s {@code fanout}: the node's stream (its namespace, the Redis link),
   * connections.
   */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(HealthIndicator.class)
  static class Health {
    @Bean
    @ConditionalOnMissingBean(name = "fanoutHealthIndicator")
    FanoutHealthIndicator fanoutHealthIndicator(FanoutNode node, FanoutProperties props) {
      return new FanoutHealthIndicator(node, props.getRedisUri() == null ? null
          : props.getNamespace());
    }
  }
}
