package dev.fanout.spring;

import dev.fanout.client.Warmup;
import dev.fanout.core.Backpressure;
import dev.fanout.core.Bus;
import dev.fanout.core.EventFilter;
import dev.fanout.core.FanoutMetrics;
import dev.fanout.core.History;
import dev.fanout.core.Hub;
import dev.fanout.core.InMemoryStream;
import dev.fanout.jakarta.FanoutWebSocket;
import dev.fanout.jakarta.HandshakeFilter;
import dev.fanout.micrometer.FanoutMeters;
import dev.fanout.protocol.Authenticator;
import dev.fanout.protocol.FanoutProtocol;
import dev.fanout.protocol.ProtocolMetrics;
import dev.fanout.redis.RedisBus;
import dev.fanout.redis.RedisStream;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.websocket.server.ServerEndpointConfig;
import java.net.URI;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.boot.ApplicationRunner;
import org.springframework.boot.actuate.health.HealthIndicator;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.web.context.WebServerApplicationContext;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.ApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.Ordered;
import org.springframework.core.env.Environment;
import org.springframework.web.context.WebApplicationContext;
import org.springframework.web.socket.server.standard.ServerEndpointExporter;

/**
 * A live feed in a Spring Boot servlet application: the bus (Redis when {@code fanout.redis-uri}
 * is set, else in memory), the hub, protocol v1 at {@code fanout.path} on the application's own
 * servlet container (Tomcat or Jetty), its handshake filter, metrics on the application's {@link
 * MeterRegistry}, a health indicator, and a shutdown in Spring's lifecycle. Each bean backs off
 * when the application defines its own of that type; an {@link Authenticator} bean and {@link
 * EventFilter} beans are used when present.
 */
@AutoConfiguration(afterName = {
    "org.springframework.boot.actuate.autoconfigure.metrics"
        + ".CompositeMeterRegistryAutoConfiguration",
    "org.springframework.boot.actuate.autoconfigure.metrics.export.prometheus"
        + ".PrometheusMetricsExportAutoConfiguration"})
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
@ConditionalOnClass(ServerEndpointExporter.class)
@EnableConfigurationProperties(FanoutProperties.class)
public class FanoutAutoConfiguration {
  private static final Logger log = LoggerFactory.getLogger(FanoutAutoConfiguration.class);

  /** The hub's send threads (created as needed); stopped after the hub and the bus. */
  private final ExecutorService senders =
      Executors.newFixedThreadPool(Math.max(2, Runtime.getRuntime().availableProcessors()), r -> {
        Thread t = new Thread(r, "fanout-send");
        t.setDaemon(true);
        return t;
      });

  /**
   * The bus, which is also the {@link dev.fanout.core.Publisher} services publish with. Closed by
   * {@link FanoutLifecycle}, after the last client got its 1001, not by the context.
   */
  @Bean(destroyMethod = "")
  @ConditionalOnMissingBean(Bus.class)
  public Bus fanoutBus(FanoutProperties props) {
    if (props.getRedisUri() == null) {
      log.info("fanout: in-memory bus (set fanout.redis-uri for several nodes)");
      return InMemoryStream.create(props.getRetention());
    }
    RedisBus.check(props.getRedisUri()); // one clear line if it cannot work at all
    long cacheBytes = props.getSnapshotCache().toBytes();
    return RedisBus.builder(props.getRedisUri(),
        RedisStream.named(props.getNamespace()).withRetention(props.getRetention()))
        .snapshotCache(cacheBytes == 0 ? 0
            : Math.max(RedisBus.DEFAULT_CACHE_PER_TOPIC, props.getSnapshotSize()),
            Math.max(1, cacheBytes))
        .build();
  }

  /** The hub; its send threads and the bus are closed by {@link FanoutLifecycle}. */
  @Bean(destroyMethod = "")
  @ConditionalOnMissingBean
  public Hub fanoutHub(Bus bus, FanoutProperties props, ObjectProvider<FanoutMetrics> metrics) {
    History history = bus instanceof RedisBus redis ? redis.history()
        : bus instanceof History h ? h : History.none();
    Hub.Builder b = Hub.builder().bus(bus).history(history)
        .snapshotSize(props.getSnapshotSize())
        .outboxCapacity(props.getQueueSize())
        .backpressure(switch (props.getBackpressure()) {
          case DISCONNECT -> Backpressure.disconnect();
          case DROP_NEWEST -> Backpressure.dropNewest();
          case DROP_OLDEST -> Backpressure.dropOldest();
        })
        .sendExecutor(senders)
        .batchLinger(props.getBatchLinger());
    metrics.ifAvailable(b::metrics);
    return b.build();
  }

  /** Protocol v1: origins, authentication, limits, heartbeat, your clients' words. */
  @Bean(destroyMethod = "")
  @ConditionalOnMissingBean
  public FanoutProtocol fanoutProtocol(Hub hub, Bus bus, FanoutProperties props,
      ObjectProvider<Authenticator> authenticator, ObjectProvider<EventFilter> filters,
      ObjectProvider<ProtocolMetrics> metrics) {
    FanoutProperties.Limits limits = props.getLimits();
    FanoutProperties.Heartbeat heartbeat = props.getHeartbeat();
    if (heartbeat.getTimeout().compareTo(heartbeat.getInterval()) <= 0) {
      throw new IllegalArgumentException("fanout.heartbeat.timeout (" + heartbeat.getTimeout()
          + ") must be longer than fanout.heartbeat.interval (" + heartbeat.getInterval() + ")");
    }
    FanoutProtocol.Builder b = FanoutProtocol.builder(hub)
        .allowedOrigins(props.getAllowedOrigins())
        .allowMissingOrigin(props.isAllowMissingOrigin())
        .heartbeat(props.getHeartbeat().getInterval(), props.getHeartbeat().getTimeout())
        .maxConnections(limits.getMaxConnections())
        .maxMessageBytes(limits.getMaxMessageBytes())
        .maxTopics(limits.getMaxTopics())
        .subscribeRate(limits.getSubscribesPerSecond(), limits.getSubscribeBurst())
        .closeOnShutdown(hub, bus, senders::shutdown);
    if (limits.getMaxConnectionsPerPrincipal() > 0) {
      b.maxConnectionsPerPrincipal(limits.getMaxConnectionsPerPrincipal());
    }
    props.getAliases().getTopics().forEach(b::topicAlias);
    props.getAliases().getFilters().forEach(b::filterAlias);
    authenticator.ifAvailable(b::authenticator);
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
    return b.build();
  }

  /** Deployed on the servlet container by {@link ServerEndpointExporter}. */
  @Bean
  public ServerEndpointConfig fanoutEndpoint(FanoutProtocol protocol, FanoutProperties props) {
    return FanoutWebSocket.builder(protocol).path(props.getPath())
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
  public FilterRegistrationBean<HandshakeFilter> fanoutHandshakeFilter(FanoutProtocol protocol,
      FanoutProperties props) {
    FilterRegistrationBean<HandshakeFilter> r =
        new FilterRegistrationBean<>(new HandshakeFilter(protocol));
    r.addUrlPatterns(props.getPath());
    r.setOrder(Ordered.LOWEST_PRECEDENCE - 100);
    return r;
  }

  /** 1001 to every client within the shutdown phase's timeout, then the hub and the bus. */
  @Bean
  public FanoutLifecycle fanoutLifecycle(FanoutProtocol protocol, FanoutProperties props,
      Environment env, ApplicationContext context) {
    Duration phase = env.getProperty("spring.lifecycle.timeout-per-shutdown-phase",
        Duration.class, Duration.ofSeconds(30));
    Duration spread = props.getShutdownSpread().compareTo(phase.dividedBy(2)) < 0
        ? props.getShutdownSpread() : phase.dividedBy(2);
    return new FanoutLifecycle(protocol, spread, context);
  }

  /**
   * The warm-up ({@code fanout.warmup.connections}; none by default). An application runner: it
   * runs once the web server serves and before Spring reports the application ready, so the
   * readiness probe says ready only after it.
   */
  @Bean
  @ConditionalOnMissingBean(name = "fanoutWarmup")
  public ApplicationRunner fanoutWarmup(FanoutProperties props, ApplicationContext context) {
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

    /** The gauges read the hub and the Redis link, once both exist. */
    @Bean
    SmartInitializingSingleton fanoutGauges(FanoutMeters meters, ObjectProvider<Hub> hub,
        ObjectProvider<Bus> bus) {
      return () -> {
        hub.ifAvailable(meters::bind);
        if (bus.getIfAvailable() instanceof RedisBus redis) {
          meters.bind(redis);
        }
      };
    }
  }

  /** {@code /actuator/health}'s {@code fanout}: the bus (Redis link), connections. */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(HealthIndicator.class)
  static class Health {
    @Bean
    @ConditionalOnMissingBean(name = "fanoutHealthIndicator")
    FanoutHealthIndicator fanoutHealthIndicator(Hub hub, Bus bus, FanoutProtocol protocol) {
      return new FanoutHealthIndicator(hub, bus instanceof RedisBus r ? r : null, protocol);
    }
  }
}
