package dev.fanout.core;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import dev.fanout.core.internal.DaemonThreads;
import dev.fanout.core.internal.Require;
import dev.fanout.core.internal.Scheduler;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The registry of connections and the router: the entry point of fanout-core.
 *
 * <pre>{@code
 * InMemoryStream stream = InMemoryStream.create();          // or a RedisBus + RedisHistory
 * Hub hub = Hub.builder().bus(stream).history(stream).build();
 * Connection c = hub.connect(transport, Scope.all());
 * c.subscribe(Subscription.builder().topics("mch_1").build());
 * stream.publish("mch_1", Map.of("method", "card"), "{\"status\":\"captured\"}");
 * }</pre>
 *
 * <p>Routing costs O(matching subscribers), not O(connections): subscriptions are indexed by
 * topic, with a separate set for connections that take every topic, and only those candidates
 * run the residual predicate (attributes, custom filter). Each event frame is encoded once and
 * the same string goes to every recipient. Publishing never blocks on a subscriber: it only
 * queues into outboxes, whose {@link Backpressure} policy handles a slow client.
 *
 * <p>Thread-safe. The hub listens to its bus from {@link Builder#build()} until {@link #close()}.
 */
public final class Hub implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Hub.class);

  private final History history;
  private final RecentHistory recent; // the recent past in memory, in front of history; or null
  private final FanoutMetrics metrics;
  private final Backpressure backpressure;
  private final OutboxSettings outboxSettings;
  private final Scheduler scheduler; // the linger's delays, and every clock the hub reads
  private final ScheduledExecutorService ownTimer; // the scheduler's thread if the hub made it
  private final int snapshotSize;
  private final AutoCloseable busRegistration;

  private final TopicIndex index = new TopicIndex();
  private final ConnectionHost host = new Host();
  private final Set<Connection> connections = ConcurrentHashMap.newKeySet();
  private final AtomicLong ids = new AtomicLong();
  private final Executor historyReads; // subscribes' history reads, off transport threads
  private final ExecutorService ownHistoryReads; // made here, so shut down here; or null
  private final BoundedExecutor resyncs; // resyncs' reads, a few at once on historyReads
  private final long historyDeadlineNanos;
  private final PartitionNeeds needs; // what the bus is told to receive
  /** Per partition: the newest id routed (or where the bus started); null when unknown. */
  private final AtomicReferenceArray<EventId> lastRouted;
  private volatile boolean closed;
  private volatile long lastInvalidLog;
  private volatile long newestPublishedAt; // of the events routed here; 0 before the first
  private volatile boolean busUp = true;

  /**
   * Claimed pumps per send-executor task. Small enough that a few threads share a large fan-out,
   * large enough that a publish to hundreds costs a handful of hand-offs, not hundreds.
   */
  static final int PUMPS_PER_TASK = 32;

  /** Events the hub keeps in memory for resumes, by default ({@link Builder#recentEvents}). */
  public static final int DEFAULT_RECENT_EVENTS = 10_000;

  /**
   * Events a connection may have queued before its backpressure policy acts, by default: four
   * seconds of an all-topics dashboard at 2,000 events/s, so the node's own pauses (a cold JIT, a
   * GC) do not close clients that are reading. A queued event costs its connection about 50
   * bytes; the event itself is shared by every queue holding it.
   */
  public static final int DEFAULT_OUTBOX_CAPACITY = 8192;

  private static final long INVALID_LOG_INTERVAL_NANOS = 1_000_000_000L;

  /** History reads of a resync at once: bounded, so a resync of thousands cannot swamp Redis. */
  static final int RESYNC_READS = 2;

  /**
   * How long a partition no connection needs any more stays received: a client that reconnects
   * within it finds its partitions live, and closes within it cost the bus one call.
   */
  static final long PARTITION_DROP_DELAY_NANOS = TimeUnit.SECONDS.toNanos(2);

  /** History threads the hub makes when it is not given an executor. */
  public static final int DEFAULT_HISTORY_THREADS = 8;

  private Hub(Builder b) {
    this.metrics = SafeMetrics.wrap(b.metrics);
    Partitioning partitioning = b.bus == null ? Partitioning.single() : b.bus.partitioning();
    this.recent = b.history == History.none() || b.recentEvents == 0 ? null
        : new RecentHistory(b.history, b.recentEvents, metrics, partitioning);
    this.history = recent == null ? b.history : recent;
    this.lastRouted = new AtomicReferenceArray<>(partitioning.count());
    this.backpressure = b.backpressure;
    if (b.scheduler != null) {
      this.ownTimer = null;
      this.scheduler = b.scheduler;
    } else { // its thread starts with the first linger
      this.ownTimer = new ScheduledThreadPoolExecutor(1, DaemonThreads.named("fanout-linger"));
      this.scheduler = Scheduler.on(ownTimer);
    }
    this.lastInvalidLog = scheduler.nanoTime() - INVALID_LOG_INTERVAL_NANOS;
    this.outboxSettings = new OutboxSettings(b.outboxCapacity, b.lowWatermark, b.highWatermark,
        b.maxBatch, b.sendExecutor, b.batchLinger.toNanos(), scheduler);
    this.snapshotSize = b.snapshotSize;
    this.ownHistoryReads = b.historyExecutor != null ? null
        : Executors.newFixedThreadPool(b.historyThreads, DaemonThreads.named("fanout-history"));
    this.historyReads = ownHistoryReads != null ? ownHistoryReads : b.historyExecutor;
    this.historyDeadlineNanos = b.historyDeadline.toNanos();
    this.resyncs = new BoundedExecutor(historyReads, RESYNC_READS);
    this.needs = new PartitionNeeds(b.bus, scheduler, PARTITION_DROP_DELAY_NANOS, this::dropped);
    this.busRegistration = b.bus == null ? null : b.bus.subscribe(new BusListener() {
      @Override
      public void onEvent(Event event) {
        route(event);
      }

      @Override
      public void onDiscontinuity(String reason) {
        resyncAll(reason);
      }

      @Override
      public void onDiscontinuity(int partition, String reason) {
        resync(partition, reason);
      }

      @Override
      public void onBusState(boolean up) {
        busState(up);
      }

      @Override
      public void onPosition(EventId position) {
        int p = position.partition();
        if (p < lastRouted.length()) { // an event routed meanwhile is newer
          lastRouted.compareAndSet(p, null, position);
        }
      }
    });
  }

  public static Builder builder() {
    return new Builder();
  }

  /**
   * Registers a connection with the hub's default backpressure policy; it receives nothing until
   * it subscribes.
   */
  public Connection connect(Transport transport, Scope scope) {
    return connect(transport, scope, backpressure);
  }

  /** Registers a connection with its own backpressure policy. */
  public Connection connect(Transport transport, Scope scope, Backpressure policy) {
    Objects.requireNonNull(transport, "transport");
    Objects.requireNonNull(scope, "scope");
    Objects.requireNonNull(policy, "policy");
    Connection c = new Connection(host, ids.incrementAndGet(), scope, transport, policy,
        outboxSettings);
    connections.add(c);
    metrics.connectionOpened();
    return c;
  }

  /**
   * Routes an event that already has its id to every local connection whose subscription
   * matches: what the bus's listener does for every event it carries. To publish, use {@link
   * Bus#publish}.
   */
  void route(Event event) {
    if (recent != null) { // first: a subscribe that reads lastRouted finds this event in memory
      recent.add(event);
    }
    // Before routing: a subscribe that reads this after indexing its connection is offered the
    // event, or has it in the history it reads (see Connection#subscribeAsync).
    int partition = event.id().partition();
    if (partition < lastRouted.length()) {
      lastRouted.set(partition, event.id());
    }
    if (event.publishedAtMillis() > newestPublishedAt) {
      newestPublishedAt = event.publishedAtMillis();
    }
    Routing r = new Routing(event, scheduler.nanoTime());
    Set<Connection> candidates = index.byTopic(event.topic());
    if (candidates != null) {
      r.offerToMatching(candidates);
    }
    r.offerToMatching(index.allTopics());
    if (r.invalid) {
      rejectInvalid(event);
      return;
    }
    metrics.eventRouted(event, r.recipients);
    if (r.pumpNow != null) {
      dispatchPumps(r.pumpNow);
    }
    if (r.pumpAfterLinger != null) {
      List<Outbox> hot = r.pumpAfterLinger;
      try { // the scheduler's thread only hands over
        scheduler.schedule(() -> dispatchPumps(hot), outboxSettings.lingerNanos());
      } catch (RejectedExecutionException closing) {
        dispatchPumps(hot);
      }
    }
  }

  /**
   * One publish in progress: the data is checked and the frame encoded once, at the first match
   * (an event no connection here wants costs neither).
   */
  private static final class Routing {
    final Event event;
    final long receivedNanos;
    String frame;
    boolean invalid; // the data is not one JSON value: framed, it would corrupt the frame
    int recipients;
    List<Outbox> pumpNow; // outboxes whose pump this publish claimed
    List<Outbox> pumpAfterLinger; // the same, hot ones

    Routing(Event event, long receivedNanos) {
      this.event = event;
      this.receivedNanos = receivedNanos;
    }

    void offerToMatching(Iterable<Connection> connections) {
      for (Connection c : connections) {
        if (invalid) {
          return;
        }
        Subscription s = c.subscription();
        if (s == null || !s.matches(event)) {
          continue;
        }
        if (frame == null) {
          if (!JsonText.isOneValue(event.data())) {
            invalid = true;
            return;
          }
          frame = Frames.event(event);
        }
        Outbox outbox = c.outbox();
        Outbox.Pump pump = outbox.offer(event, frame, receivedNanos);
        if (pump == Outbox.Pump.NOW) {
          pumpNow = add(pumpNow, outbox);
        } else if (pump == Outbox.Pump.AFTER_LINGER) {
          pumpAfterLinger = add(pumpAfterLinger, outbox);
        }
        recipients++;
      }
    }

    private static List<Outbox> add(List<Outbox> list, Outbox o) {
      List<Outbox> l = list == null ? new ArrayList<>() : list;
      l.add(o);
      return l;
    }
  }

  /** Hands the claimed pumps to the send executor, {@value #PUMPS_PER_TASK} to a task. */
  private void dispatchPumps(List<Outbox> toPump) {
    for (int from = 0; from < toPump.size(); from += PUMPS_PER_TASK) {
      List<Outbox> chunk = toPump.subList(from, Math.min(toPump.size(), from + PUMPS_PER_TASK));
      Runnable task = () -> chunk.forEach(Outbox::runClaimedPump);
      try {
        outboxSettings.sendExecutor().execute(task);
      } catch (RuntimeException rejected) { // the executor is shut down: send from here
        task.run();
      }
    }
  }

  /**
   * Drops an event whose data is not one JSON value: pasted into a frame it would break the
   * frame (and a batch around it) or turn it into another frame type. Counted, logged at most
   * once a second.
   */
  void rejectInvalid(Event event) {
    metrics.invalidEvent(event);
    long now = scheduler.nanoTime();
    if (now - lastInvalidLog >= INVALID_LOG_INTERVAL_NANOS) {
      lastInvalidLog = now;
      log.warn("dropped event {} of topic {}: its data is not one JSON value (an old or buggy "
          + "publisher?)", event.id(), event.topic());
    }
  }

  /** Connections in the routing index (for tests: a closed one must never stay there). */
  int indexedConnections() {
    return index.size();
  }

  /**
   * How old the newest event this hub has routed is, from its publish time to now, in
   * milliseconds; -1 before the first event with a publish time. It grows while nothing is
   * published, and while the bus is down.
   */
  public long newestEventAgeMillis() {
    long published = newestPublishedAt;
    return published == 0 ? -1 : Math.max(0, System.currentTimeMillis() - published);
  }

  /** Whether the bus's link is up, as it last said (true for a bus that never says). */
  public boolean busUp() {
    return busUp;
  }

  /** Tells every connection the bus went down or came back (a control frame, protocol.md). */
  void busState(boolean up) {
    if (busUp == up) {
      return;
    }
    busUp = up;
    for (Connection c : connections) {
      c.sendBusState(up);
    }
  }

  /** Open connections on this hub. */
  public int connectionCount() {
    return connections.size();
  }

  /** Events queued in all outboxes: a gauge for metrics. */
  public long queuedEvents() {
    long n = 0;
    for (Connection c : connections) {
      n += c.queueSize();
    }
    return n;
  }

  /**
   * Stops routing (the hub stops listening to its bus) and closes what connections are left with
   * 1001 (Going Away) at once; pacing the closes, so that clients do not all reconnect at the same
   * instant, is the protocol's job before this. Shuts down the threads the hub made itself (not
   * an executor or scheduler it was given: their owner does). Idempotent.
   */
  @Override
  public void close() {
    closed = true;
    if (busRegistration != null) {
      try {
        busRegistration.close();
      } catch (Exception e) {
        log.warn("closing the bus registration failed", e);
      }
    }
    for (Connection c : connections) {
      c.close(1001, "server shutting down");
    }
    if (ownHistoryReads != null) {
      ownHistoryReads.shutdown(); // queued reads find their connection closed and end at once
    }
    if (ownTimer != null) {
      ownTimer.shutdownNow(); // a pending linger: its connection is closed
    }
  }

  /**
   * On the bus's thread: holds every subscribed connection at once (cheap, no I/O), so none is
   * sent an event from after the loss before it is told, then hands the history reads to the
   * resync threads. The bus's thread never waits on history, however many connections there are.
   */
  void resyncAll(String reason) {
    log.warn("bus reported lost events ({}); resynchronizing {} connections", reason,
        connections.size());
    for (int p = 0; p < lastRouted.length(); p++) {
      lastRouted.set(p, null); // maybe a new epoch: no position to offer until the next event
    }
    if (recent != null) {
      recent.clear(); // what it holds may no longer be the stream's
    }
    int resynced = 0;
    for (Connection c : connections) {
      if (c.resync()) {
        resynced++;
      }
    }
    metrics.discontinuity(resynced);
  }

  /**
   * {@link #resyncAll} for a loss on one partition: only connections that follow it (or are
   * still subscribing) are resynchronized; the others lose nothing and are told nothing.
   */
  void resync(int partition, String reason) {
    log.warn("bus reported lost events on partition {} ({}); resynchronizing the connections "
        + "that follow it", partition, reason);
    if (partition < lastRouted.length()) {
      lastRouted.set(partition, null);
    }
    if (recent != null) {
      recent.clear(partition);
    }
    int resynced = 0;
    for (Connection c : connections) {
      int[] followed = needs.of(c);
      if ((followed == null || contains(followed, partition)) && c.resync()) {
        resynced++;
      }
    }
    metrics.discontinuity(resynced);
  }

  private static boolean contains(int[] sorted, int p) {
    return Arrays.binarySearch(sorted, p) >= 0;
  }

  /**
   * A partition no connection needs any more was let go of: the bus no longer receives it, so
   * what the hub knew of it goes stale. When it is needed again the bus tells where it starts.
   */
  private void dropped(int partition) {
    lastRouted.set(partition, null);
    if (recent != null) {
      recent.clear(partition);
    }
  }

  /** The partitions the bus was last told this hub needs (for tests). */
  Set<Integer> neededPartitions() {
    return needs.asked();
  }

  /** The hub's history: its recent events in front of the store's (for tests). */
  History history() {
    return history;
  }

  /** What a connection sees of its hub. */
  private final class Host implements ConnectionHost {
    @Override
    public void index(Connection c, Subscription previous, Subscription now) {
      index.move(c, previous, now);
      needs.set(c, now);
    }

    @Override
    public void remove(Connection c, Subscription last) {
      index.remove(c, last);
      needs.set(c, null);
      if (connections.remove(c)) {
        metrics.connectionClosed();
      }
    }

    @Override
    public Cursor position(Subscription s) {
      if (lastRouted.length() == 1) {
        EventId only = lastRouted.get(0);
        return only == null ? null : Cursor.of(only);
      }
      List<EventId> ids = new ArrayList<>();
      for (int p : needs.partitionsOf(s)) {
        EventId id = lastRouted.get(p);
        if (id != null) {
          ids.add(id);
        }
      }
      return ids.isEmpty() ? null : Cursor.of(ids);
    }

    @Override
    public boolean awaitPartitions() {
      long deadline = System.nanoTime() + historyDeadlineNanos;
      while (true) {
        CompletableFuture<Void> live = needs.live();
        try {
          live.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
          return true;
        } catch (ExecutionException failed) {
          if (needs.live() == live) { // not superseded by a newer ask (which a drop cancels)
            log.warn("the bus failed to receive the needed partitions", failed.getCause());
            return false;
          }
        } catch (TimeoutException late) {
          return false;
        } catch (InterruptedException interrupted) {
          Thread.currentThread().interrupt();
          return false;
        }
      }
    }

    @Override
    public boolean busUp() {
      return busUp;
    }

    @Override
    public void readHistory(Runnable read, Runnable rejected) {
      if (closed) {
        rejected.run();
        return;
      }
      try {
        historyReads.execute(read);
      } catch (RejectedExecutionException shutDown) {
        rejected.run();
      }
    }

    @Override
    public void readForResync(Runnable read, Runnable rejected) {
      if (closed) {
        rejected.run();
        return;
      }
      resyncs.execute(read, rejected);
    }

    @Override
    public Scheduler clock() {
      return scheduler;
    }

    @Override
    public void rejectInvalid(Event event) {
      Hub.this.rejectInvalid(event);
    }

    @Override
    public History history() {
      return history;
    }

    @Override
    public FanoutMetrics metrics() {
      return metrics;
    }

    @Override
    public int snapshotSize() {
      return snapshotSize;
    }

    @Override
    public long historyDeadlineNanos() {
      return historyDeadlineNanos;
    }
  }

  /** Builds a {@link Hub}; every setting has a default and is validated eagerly. */
  public static final class Builder {
    private Bus bus;
    private History history = History.none();
    private FanoutMetrics metrics = FanoutMetrics.NOOP;
    private Backpressure backpressure = Backpressure.disconnect();
    private int outboxCapacity = DEFAULT_OUTBOX_CAPACITY;
    private int lowWatermark = -1;
    private int highWatermark = -1;
    private int maxBatch = 64;
    private int snapshotSize = 50;
    private int recentEvents = DEFAULT_RECENT_EVENTS;
    private int historyThreads = DEFAULT_HISTORY_THREADS;
    private boolean historyThreadsSet;
    private Executor historyExecutor;
    private Duration historyDeadline = Duration.ofSeconds(10);
    private Scheduler scheduler;
    private Executor sendExecutor;
    private Duration batchLinger = Duration.ofMillis(2);
    private boolean lingerSet;

    private Builder() {}

    /**
     * Adaptive batching, with a {@link #sendExecutor}: a connection whose events come less than
     * {@code linger} apart (faster than 500/s at the default 2 ms) gets them together (see
     * {@link #maxBatch}) at most every {@code linger}, so a hot connection costs a few large
     * writes instead of many small ones, for the server and for the client. A connection that
     * hears an event now and then is not delayed. {@link Duration#ZERO} turns it off.
     */
    public Builder batchLinger(Duration linger) {
      Objects.requireNonNull(linger, "linger");
      Require.argument(!linger.isNegative() && linger.compareTo(Duration.ofSeconds(1)) <= 0,
          "batch linger must be between 0 and 1 s, got %s", linger);
      this.batchLinger = linger;
      this.lingerSet = true;
      return this;
    }

    /**
     * Where sends start: by default on the publishing thread (the bus's), one frame per event
     * for a connection that keeps up. With an executor (a few threads), the publishing thread
     * only queues, and a connection's events that queue while the executor is busy go out as one
     * {@code batch} frame: under heavy fan-out, fewer writes carry the same deliveries. Sends
     * that follow a completed send always start on the transport's completion thread.
     */
    public Builder sendExecutor(Executor executor) {
      this.sendExecutor = Objects.requireNonNull(executor, "executor");
      return this;
    }

    /** The bus whose events this hub delivers; without one, only {@link Hub#publish} feeds it. */
    public Builder bus(Bus bus) {
      this.bus = Objects.requireNonNull(bus, "bus");
      return this;
    }

    /** Where snapshots and resumes are read; default {@link History#none()}. */
    public Builder history(History history) {
      this.history = Objects.requireNonNull(history, "history");
      return this;
    }

    /**
     * Subscribes read history on {@code threads} threads of the hub, never on the caller's (a
     * transport's): under a burst the reads queue, and one that waited longer than {@code
     * deadline} closes its connection with 1013 "history busy, try again" instead of reading.
     * Default 8 threads (keep it at most the Redis pool size, so reads never wait for a
     * connection) and 10 s.
     */
    public Builder historyReads(int threads, Duration deadline) {
      this.historyThreads = Require.positive(threads, "history threads");
      this.historyThreadsSet = true;
      return historyDeadline(deadline);
    }

    /**
     * How long a subscribe may wait for a history thread before its connection is closed with
     * 1013 "history busy, try again" instead of reading; default 10 s.
     */
    public Builder historyDeadline(Duration deadline) {
      this.historyDeadline = Require.positive(deadline, "history deadline");
      return this;
    }

    /**
     * Where the hub reads history (subscribes' snapshots and resumes, and resyncs', at most two
     * of those at once), instead of on {@value Hub#DEFAULT_HISTORY_THREADS} threads of its own.
     * The executor stays its owner's: the hub never shuts it down, and its owner shuts it down
     * after closing the hub (reads queued then find their connections closed). Size it as {@link
     * #historyReads} says.
     */
    public Builder historyExecutor(Executor executor) {
      this.historyExecutor = Objects.requireNonNull(executor, "executor");
      return this;
    }

    /**
     * Time as the hub sees it: its monotonic clock (delivery latency, the history deadline, when
     * a connection is hot) and the delays of its batch linger. By default real time, on a thread
     * of the hub's own that {@link Hub#close()} stops; a given scheduler stays its owner's. Tests
     * give a fake one whose time moves only when they say.
     */
    public Builder scheduler(Scheduler scheduler) {
      this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
      return this;
    }

    /**
     * How many of the events it routed the hub keeps in memory to answer resumes without asking
     * the history (0: none); default {@value #DEFAULT_RECENT_EVENTS}. A client that reconnects
     * within that many events of where it left is answered from memory, exactly as the history
     * would answer it, so a reconnect storm costs the history (Redis) nothing for it. Memory:
     * that many events, shared with the clients' queues.
     */
    public Builder recentEvents(int events) {
      this.recentEvents = Require.notNegative(events, "recent events");
      return this;
    }

    public Builder metrics(FanoutMetrics metrics) {
      this.metrics = Objects.requireNonNull(metrics, "metrics");
      return this;
    }

    /**
     * The policy for connections that do not name their own; default {@link
     * Backpressure#disconnect()}.
     */
    public Builder backpressure(Backpressure backpressure) {
      this.backpressure = Objects.requireNonNull(backpressure, "backpressure");
      return this;
    }

    /** Hard cap of queued events per connection; default {@value Hub#DEFAULT_OUTBOX_CAPACITY}. */
    public Builder outboxCapacity(int capacity) {
      this.outboxCapacity = Require.positive(capacity, "outbox capacity");
      return this;
    }

    /**
     * Soft watermarks, reported to metrics when crossed (Netty style: above {@code high} until
     * back at {@code low}); default half and three quarters of the capacity.
     */
    public Builder watermarks(int low, int high) {
      Require.argument(low >= 0 && high > low, "watermarks need 0 <= low < high, got low=%d "
          + "high=%d", low, high);
      this.lowWatermark = low;
      this.highWatermark = high;
      return this;
    }

    /**
     * Most events sent together: joined into one {@code batch} frame, or written as their own
     * frames in one write by a transport that can ({@link Transport#sendAll}); 1 turns batching
     * off. Default 64.
     */
    public Builder maxBatch(int maxBatch) {
      this.maxBatch = Require.positive(maxBatch, "max batch");
      return this;
    }

    /** Events sent on a fresh subscribe; default 50, 0 for none. */
    public Builder snapshotSize(int snapshotSize) {
      this.snapshotSize = Require.notNegative(snapshotSize, "snapshot size");
      return this;
    }

    public Hub build() {
      Require.argument(!lingerSet || sendExecutor != null || batchLinger.isZero(),
          "batch linger %s needs a send executor (Hub.Builder.sendExecutor): without one, sends "
          + "start on the publishing thread and nothing lingers", batchLinger);
      Require.argument(!historyThreadsSet || historyExecutor == null, "historyReads sets the "
          + "threads of the hub's own pool, and historyExecutor replaces that pool: size the "
          + "executor instead, and set the deadline with historyDeadline");
      if (highWatermark < 0) {
        lowWatermark = outboxCapacity / 2;
        highWatermark = Math.max(lowWatermark + 1, outboxCapacity * 3 / 4);
      } else {
        Require.argument(highWatermark <= outboxCapacity, "high watermark %d must not exceed "
            + "the outbox capacity %d", highWatermark, outboxCapacity);
      }
      return new Hub(this);
    }
  }
}
