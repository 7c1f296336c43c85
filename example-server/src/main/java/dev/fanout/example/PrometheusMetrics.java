package dev.fanout.example;

import dev.fanout.core.Event;
import dev.fanout.core.FanoutMetrics;
import dev.fanout.core.Hub;
import dev.fanout.protocol.FanoutProtocol;
import dev.fanout.redis.RedisBus;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** fanout's metrics in a Micrometer Prometheus registry; {@link #scrape()} serves /metrics. */
final class PrometheusMetrics implements FanoutMetrics {
  final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final Counter opened = Counter.builder("fanout_connections_opened")
      .description("WebSocket connections opened").register(registry);
  private final Counter closed = Counter.builder("fanout_connections_closed")
      .description("WebSocket connections closed").register(registry);
  private final Counter eventsIn = Counter.builder("fanout_events_in")
      .description("events received by this node's hub").register(registry);
  private final DistributionSummary recipients =
      DistributionSummary.builder("fanout_event_recipients")
          .description("connections each event was routed to").register(registry);
  private final Counter framesOut = Counter.builder("fanout_frames_out")
      .description("frames written to clients").register(registry);
  private final Counter eventsOut = Counter.builder("fanout_events_out")
      .description("events written to clients (a batch frame carries several)").register(registry);
  private final Timer latency = Timer.builder("fanout_delivery_latency")
      .description("from the event reaching this node's hub to its frame being written")
      .publishPercentileHistogram()
      .minimumExpectedValue(Duration.ofNanos(50_000))
      .maximumExpectedValue(Duration.ofSeconds(10))
      .register(registry);
  private final Timer age = Timer.builder("fanout_event_age")
      .description("from the event's publish (the stream's clock) to its frame being written: "
          + "what a user sees, outages and catch-up included")
      .publishPercentileHistogram()
      .minimumExpectedValue(Duration.ofMillis(1))
      .maximumExpectedValue(Duration.ofMinutes(5))
      .register(registry);
  private final Counter recovered = resumes("true");
  private final Counter notRecovered = resumes("false");
  private final Counter filterFailures = Counter.builder("fanout_filter_failures")
      .description("custom event filters that threw").register(registry);
  private final Counter sendFailures = Counter.builder("fanout_send_failures")
      .description("sends the transport reported failed").register(registry);
  private final Counter invalidEvents = Counter.builder("fanout_events_invalid")
      .description("events dropped because their data is not one JSON value").register(registry);
  private final Counter discontinuities = Counter.builder("fanout_bus_discontinuities")
      .description("times the bus reported lost events (failover, trim, stream created afresh)")
      .register(registry);
  private final Counter resyncs = Counter.builder("fanout_resyncs")
      .description("connections resynchronized after a discontinuity").register(registry);
  private final AtomicInteger aboveHigh = new AtomicInteger();
  private final Set<String> refusalSeries = ConcurrentHashMap.newKeySet();
  private final Set<Integer> closeSeries = ConcurrentHashMap.newKeySet();
  private volatile FanoutProtocol endpoint;

  PrometheusMetrics() {
    Gauge.builder("fanout_outboxes_above_high_watermark", aboveHigh, AtomicInteger::get)
        .description("connections whose outbox is above its high watermark").register(registry);
    // Every series exists from startup, at zero: a rate() or an alert needs the zero.
    for (String policy : List.of("drop-oldest", "drop-newest", "disconnect", "conflate")) {
      dropped(policy);
    }
    // The process and the JVM: memory, GC, threads, CPU, open and maximum file descriptors.
    new JvmMemoryMetrics().bindTo(registry);
    new JvmGcMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ClassLoaderMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new FileDescriptorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
  }

  private Counter dropped(String policy) {
    return Counter.builder("fanout_events_dropped").tag("policy", policy)
        .description("events dropped by backpressure").register(registry);
  }

  private Counter resumes(String value) {
    return Counter.builder("fanout_resumes").tag("recovered", value)
        .description("clients that asked to resume, by whether history could answer exactly")
        .register(registry);
  }

  /** Gauges read from the hub (and the Redis bus, when there is one). */
  void bind(Hub hub, RedisBus redis) {
    Gauge.builder("fanout_connections_active", hub, Hub::connectionCount)
        .description("open WebSocket connections").register(registry);
    Gauge.builder("fanout_queue_depth", hub, Hub::queuedEvents)
        .description("events queued in all outboxes").register(registry);
    Gauge.builder("fanout_newest_event_age_seconds", hub,
            h -> h.newestEventAgeMillis() < 0 ? Double.NaN : h.newestEventAgeMillis() / 1000.0)
        .description("age of the newest event this node routed, from its publish time: grows "
            + "while nothing is published or nothing reaches this node").register(registry);
    Gauge.builder("fanout_bus_up", hub, h -> h.busUp() ? 1 : 0)
        .description("1 while this node's bus is up (clients are told when it is not)")
        .register(registry);
    if (redis != null) {
      Gauge.builder("fanout_redis_link_up", redis, r -> r.linkState().isUp() ? 1 : 0)
          .description("1 while the Redis Pub/Sub link is up").register(registry);
      FunctionCounter.builder("fanout_redis_link_downs", redis, RedisBus::linkDowns)
          .description("times the Redis Pub/Sub link went down").register(registry);
      FunctionCounter.builder("fanout_redis_link_downtime_seconds", redis,
              r -> r.linkDowntime().toNanos() / 1e9)
          .description("time the Redis Pub/Sub link was down").register(registry);
      FunctionCounter.builder("fanout_redis_stray_messages", redis, RedisBus::strayMessages)
          .description("messages on the channel the stream does not hold (dropped): something "
              + "else publishes on it").register(registry);
    }
  }

  /** Refused handshakes by status and reason, and closes by code, of this endpoint. */
  void bind(FanoutProtocol ws) {
    this.endpoint = ws;
  }

  /**
   * The registry's text. Refusal reasons and close codes become series as they first occur
   * (at most {@value #MAX_REFUSAL_SERIES} reasons: an authenticator's reasons are free text).
   */
  String scrape() {
    FanoutProtocol ws = endpoint;
    if (ws != null) {
      for (String key : ws.refusedHandshakes().keySet()) {
        if (refusalSeries.size() < MAX_REFUSAL_SERIES && refusalSeries.add(key)) {
          String[] statusAndReason = key.split(" ", 2);
          FunctionCounter.builder("fanout_handshakes_refused", ws,
                  w -> w.refusedHandshakes().getOrDefault(key, 0L))
              .tag("status", statusAndReason[0]).tag("reason", statusAndReason[1])
              .description("handshakes refused, by HTTP status and reason").register(registry);
        }
      }
      for (Integer code : ws.closesByCode().keySet()) {
        if (closeSeries.add(code)) {
          FunctionCounter.builder("fanout_connections_closed_by_code", ws,
                  w -> w.closesByCode().getOrDefault(code, 0L))
              .tag("code", Integer.toString(code))
              .description("connections closed, by close code (4001 heartbeat timeout, 4003 "
                  + "credentials expired, 1013 try again...)").register(registry);
        }
      }
    }
    return registry.scrape();
  }

  private static final int MAX_REFUSAL_SERIES = 50;

  @Override
  public void connectionOpened() {
    opened.increment();
  }

  @Override
  public void connectionClosed() {
    closed.increment();
  }

  @Override
  public void eventRouted(Event event, int n) {
    eventsIn.increment();
    recipients.record(n);
  }

  @Override
  public void frameSent(int events) {
    framesOut.increment();
    eventsOut.increment(events);
  }

  @Override
  public void eventDelivered(long nanos) {
    latency.record(nanos, TimeUnit.NANOSECONDS);
  }

  @Override
  public void eventAge(long millis) {
    age.record(millis, TimeUnit.MILLISECONDS);
  }

  @Override
  public void eventsDropped(String policy, int count) {
    dropped(policy).increment(count);
  }

  @Override
  public void outboxWatermark(boolean high) {
    aboveHigh.addAndGet(high ? 1 : -1);
  }

  @Override
  public void discontinuity(int connections) {
    discontinuities.increment();
    resyncs.increment(connections);
  }

  @Override
  public void resumed(boolean wasRecovered) {
    (wasRecovered ? recovered : notRecovered).increment();
  }

  @Override
  public void filterFailed(Throwable failure) {
    filterFailures.increment();
  }

  @Override
  public void sendFailed(Throwable failure) {
    sendFailures.increment();
  }

  @Override
  public void invalidEvent(Event event) {
    invalidEvents.increment();
  }
}
