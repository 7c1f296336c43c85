package dev.fanout.micrometer;

import dev.fanout.core.Bus;
import dev.fanout.core.Event;
import dev.fanout.core.FanoutMetrics;
import dev.fanout.core.Hub;
import dev.fanout.protocol.FanoutNode;
import dev.fanout.protocol.ProtocolMetrics;
import dev.fanout.protocol.ProtocolSocket;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.ToDoubleFunction;

/**
 * fanout's metrics on a Micrometer {@link MeterRegistry}: pass it to the node ({@code
 * FanoutNode.Builder.metrics}: the hub's and the protocol's events), then {@link
 * #bind(FanoutNode)} for the gauges. docs/example-server.md lists
 * every meter; in Prometheus, counters get the suffix {@code _total}.
 *
 * <p>Every series that can be known in advance exists from the start, at zero, so a rate or an
 * alert has its zero. Refusal reasons are an {@code Authenticator}'s free text: at most {@value
 * #MAX_REASONS} distinct reasons get a series of their own, the rest count as {@code other}.
 */
public final class FanoutMeters implements FanoutMetrics, ProtocolMetrics {
  static final int MAX_REASONS = 50;

  private final MeterRegistry registry;
  private final Counter opened;
  private final Counter closed;
  private final Counter eventsIn;
  private final DistributionSummary recipients;
  private final Counter framesOut;
  private final Counter eventsOut;
  private final Timer latency;
  private final Timer age;
  private final Counter recovered;
  private final Counter notRecovered;
  private final Counter resumeReadsFromMemory;
  private final Counter resumeReadsFromStore;
  private final Counter filterFailures;
  private final Counter sendFailures;
  private final Counter invalidEvents;
  private final Counter discontinuities;
  private final Counter resyncs;
  private final AtomicInteger aboveHigh = new AtomicInteger();
  private final Map<String, Counter> dropped = new ConcurrentHashMap<>();
  private final Map<String, Counter> refused = new ConcurrentHashMap<>();
  private final Map<Integer, Counter> closedByCode = new ConcurrentHashMap<>();

  public FanoutMeters(MeterRegistry registry) {
    this.registry = Objects.requireNonNull(registry, "registry");
    opened = counter("fanout_connections_opened", "WebSocket connections opened");
    closed = counter("fanout_connections_closed", "WebSocket connections closed");
    eventsIn = counter("fanout_events_in", "events received by this node's hub");
    recipients = DistributionSummary.builder("fanout_event_recipients")
        .description("connections each event was routed to").register(registry);
    framesOut = counter("fanout_frames_out",
        "sends written to clients (a batch frame or one write of several event frames)");
    eventsOut = counter("fanout_events_out",
        "events written to clients (a batch frame carries several)");
    latency = Timer.builder("fanout_delivery_latency")
        .description("from the event reaching this node's hub to its frame being written")
        .publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofNanos(50_000))
        .maximumExpectedValue(Duration.ofSeconds(10))
        .register(registry);
    age = Timer.builder("fanout_event_age")
        .description("from the event's publish (the stream's clock) to its frame being written: "
            + "what a user sees, outages and catch-up included")
        .publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofMillis(1))
        .maximumExpectedValue(Duration.ofMinutes(5))
        .register(registry);
    recovered = resumes("true");
    notRecovered = resumes("false");
    resumeReadsFromMemory = resumeReads("memory");
    resumeReadsFromStore = resumeReads("store");
    filterFailures = counter("fanout_filter_failures", "custom event filters that threw");
    sendFailures = counter("fanout_send_failures", "sends the transport reported failed");
    invalidEvents = counter("fanout_events_invalid",
        "events dropped because their data is not one JSON value");
    discontinuities = counter("fanout_bus_discontinuities",
        "times the bus reported lost events (failover, trim, stream created afresh)");
    resyncs = counter("fanout_resyncs", "connections resynchronized after a discontinuity");
    Gauge.builder("fanout_outboxes_above_high_watermark", aboveHigh, AtomicInteger::get)
        .description("connections whose outbox is above its high watermark").register(registry);
    for (String policy : List.of("drop-oldest", "drop-newest", "disconnect", "conflate")) {
      dropped(policy);
    }
  }

  private Counter counter(String name, String description) {
    return Counter.builder(name).description(description).register(registry);
  }

  private Counter resumes(String value) {
    return Counter.builder("fanout_resumes").tag("recovered", value)
        .description("clients that asked to resume, by whether history could answer exactly")
        .register(registry);
  }

  private Counter resumeReads(String source) {
    return Counter.builder("fanout_resume_reads").tag("source", source)
        .description("resumes answered from the events this node routed recently (memory) or "
            + "from the history store (Redis)").register(registry);
  }

  private Counter dropped(String policy) {
    return dropped.computeIfAbsent(policy, p -> Counter.builder("fanout_events_dropped")
        .tag("policy", p).description("events dropped by backpressure").register(registry));
  }

  /**
   * The gauges of a node: its clients (warm-up connections are not clients) and sockets still
   * closing, its hub's queues, newest event and bus state ({@link #bind(Hub)}), and its stream's
   * ({@link #bind(Bus)}).
   */
  public FanoutMeters bind(FanoutNode node) {
    connections(node, n -> n.status().connections());
    for (String transport : List.of(ProtocolSocket.WEBSOCKET, ProtocolSocket.SSE)) {
      Gauge.builder("fanout_connections_by_transport", node,
              n -> n.status().connectionsByTransport().getOrDefault(transport, 0))
          .tag("transport", transport)
          .description("open connections of clients by transport: websocket or sse")
          .register(registry);
    }
    Gauge.builder("fanout_sockets_closing", node, n -> n.status().closingSockets())
        .description("sockets of connections the node closed whose peer has not finished the "
            + "closing handshake: each is gone within the close deadline").register(registry);
    hubGauges(node.hub());
    return bind(node.bus());
  }

  /** Gauges read from a hub built alone: connections, queued events, newest event, bus state. */
  public FanoutMeters bind(Hub hub) {
    connections(hub, Hub::connectionCount);
    hubGauges(hub);
    return this;
  }

  private <T> void connections(T source, ToDoubleFunction<T> count) {
    Gauge.builder("fanout_connections_active", source, count)
        .description("open connections of clients (WebSocket and Server-Sent Events)")
        .register(registry);
  }

  private void hubGauges(Hub hub) {
    Gauge.builder("fanout_queue_depth", hub, Hub::queuedEvents)
        .description("events queued in all outboxes").register(registry);
    Gauge.builder("fanout_newest_event_age_seconds", hub,
            h -> h.newestEventAgeMillis() < 0 ? Double.NaN : h.newestEventAgeMillis() / 1000.0)
        .description("age of the newest event this node routed, from its publish time: grows "
            + "while nothing is published or nothing reaches this node").register(registry);
    Gauge.builder("fanout_bus_up", hub, h -> h.busUp() ? 1 : 0)
        .description("1 while this node's bus is up (clients are told when it is not)")
        .register(registry);
  }

  /**
   * The bus's link (up, times down, time down, stray messages) and its snapshot cache, read
   * from {@link Bus#status()}: on an in-memory bus the link is always up and the cache empty.
   */
  public FanoutMeters bind(Bus bus) {
    Gauge.builder("fanout_redis_link_up", bus, b -> b.status().link().isUp() ? 1 : 0)
        .description("1 while the Redis Pub/Sub link is up").register(registry);
    FunctionCounter.builder("fanout_redis_link_downs", bus, b -> b.status().downs())
        .description("times the Redis Pub/Sub link went down").register(registry);
    FunctionCounter.builder("fanout_redis_link_downtime_seconds", bus,
            b -> b.status().downtime().toNanos() / 1e9)
        .description("time the Redis Pub/Sub link was down").register(registry);
    FunctionCounter.builder("fanout_redis_stray_messages", bus, b -> b.status().strayMessages())
        .description("messages on the channel the stream does not hold (dropped): something "
            + "else publishes on it").register(registry);
    Gauge.builder("fanout_snapshot_cache_topics", bus, b -> b.status().snapshotCache().topics())
        .description("topics whose newest events this node keeps for snapshots")
        .register(registry);
    Gauge.builder("fanout_snapshot_cache_events", bus, b -> b.status().snapshotCache().events())
        .description("events the snapshot cache holds").register(registry);
    Gauge.builder("fanout_snapshot_cache_bytes", bus, b -> b.status().snapshotCache().bytes())
        .description("approximate heap the snapshot cache's events take").register(registry);
    FunctionCounter.builder("fanout_snapshot_reads", bus, b -> b.status().snapshotCache().hits())
        .tag("source", "memory").description("snapshots answered from this node's memory, or "
            + "read from Redis").register(registry);
    FunctionCounter.builder("fanout_snapshot_reads", bus, b -> b.status().snapshotCache().misses())
        .tag("source", "store").description("snapshots answered from this node's memory, or "
            + "read from Redis").register(registry);
    FunctionCounter.builder("fanout_snapshot_cache_fills", bus,
            b -> b.status().snapshotCache().fills())
        .description("topics read from Redis into the snapshot cache").register(registry);
    FunctionCounter.builder("fanout_snapshot_cache_fill_waits", bus,
            b -> b.status().snapshotCache().waits())
        .description("snapshots that waited for another's read of the same topic (single "
            + "flight)").register(registry);
    return this;
  }

  @Override
  public void handshakeRefused(int status, String reason) {
    String key = status + " " + reason;
    Counter c = refused.get(key);
    if (c == null) {
      boolean own = refused.size() < MAX_REASONS; // racy: a few more at most
      c = Counter.builder("fanout_handshakes_refused")
          .tag("status", Integer.toString(status)).tag("reason", own ? reason : "other")
          .description("handshakes refused, by HTTP status and reason").register(registry);
      if (own) {
        refused.putIfAbsent(key, c); // the registry returns the same counter for the same tags
      }
    }
    c.increment();
  }

  @Override
  public void connectionClosed(int code) {
    closedByCode.computeIfAbsent(code, k -> Counter.builder("fanout_connections_closed_by_code")
        .tag("code", Integer.toString(k))
        .description("connections closed, by close code (4001 heartbeat timeout, 4003 "
            + "credentials expired, 1013 try again...)").register(registry)).increment();
  }

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
  public void resumeRead(boolean fromMemory) {
    (fromMemory ? resumeReadsFromMemory : resumeReadsFromStore).increment();
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
