package dev.fanout.redis;

import dev.fanout.core.BusListener;
import dev.fanout.core.Event;
import dev.fanout.core.EventId;
import dev.fanout.core.LinkState;
import dev.fanout.core.Recovery;
import dev.fanout.core.internal.DaemonThreads;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.IntFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How a {@link RedisBus} receives a stream of several partitions, or any stream on a Redis
 * Cluster: sharded Pub/Sub, only the partitions the node's connections need ({@link #need}), on
 * one connection per primary ({@link ShardedLink}), each partition kept true by its own {@link
 * Sequencer} against its own stream.
 *
 * <p>The map of which primary serves which slot is fanout's own ({@link ClusterTopology} through
 * {@link Primaries}); it is read again when the cluster says it changed (a partition's
 * subscription refused with {@code MOVED}, or ended unasked because its slot moved; a connection
 * to a primary that died, as in a failover), and periodically (every 10 s by default). Each
 * time, what must change is {@link ShardPlan}'s: a partition whose primary changed is dropped
 * from the old connection and subscribed on the new one, where it catches up from its stream
 * before its next live event. A connection left with nothing to carry is closed.
 *
 * <p>Threads: one per connection ({@code fanout-redis-shard-<primary>}) reads and drives the
 * sequencers of the partitions it carries; {@code fanout-redis-watchdog} pings and judges every
 * connection; {@code fanout-redis-probe} publishes the probes; {@code fanout-redis-map} reads the
 * map and moves partitions. Listeners are called one at a time ({@link GuardedListeners}).
 */
final class ShardedReceiver implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ShardedReceiver.class);
  private static final long RETRY_MIN_MILLIS = 100;
  private static final long RETRY_MAX_MILLIS = 1000;

  /** Where the node's connections go: a cluster's primaries, or the one Redis. */
  interface Primaries {
    /** The primary serving {@code slot} as last read (reading the map first if never read). */
    ClusterTopology.Node primaryOf(int slot);

    /** Reads the map again (a cluster: at most once per 50 ms); nothing for one Redis. */
    void refresh();

    /** The connection target of {@code primary}. */
    ShardedLink.Target target(ClusterTopology.Node primary);
  }

  /** What the receiver needs of its bus: the stream's history, the function, and the record. */
  interface Stream {
    PartitionHistory history(int partition);

    void newEpoch(int partition, String expected);

    /** Throws {@link FanoutRedisException} with one line when this node must not run here. */
    void checkPartitions();
  }

  private final RedisStream stream;
  private final Primaries primaries;
  private final Stream source;
  private final RedisLink.Liveness liveness;
  private final Duration mapRefresh;
  private final Consumer<LinkState> onLinkChange;
  private final GuardedListeners listeners = new GuardedListeners();
  private final String node = Long.toString(ThreadLocalRandom.current().nextLong()
      & Long.MAX_VALUE, 36);
  private final Feed[] feeds;
  private final Map<ClusterTopology.Node, ShardedLink> links = new ConcurrentHashMap<>();
  private final ScheduledExecutorService watchdog;
  private final ScheduledExecutorService control;
  private final ExecutorService prober;
  private final AtomicBoolean reconcileQueued = new AtomicBoolean();
  private final AtomicBoolean retryScheduled = new AtomicBoolean();
  private final AtomicLong strays = new AtomicLong();
  private final AtomicLong downs = new AtomicLong();
  private final AtomicLong downNanos = new AtomicLong();
  private final Object stateLock = new Object();

  // Guarded by this (the map and the need; taken before a feed's lock, never after):
  private Set<Integer> needed = Set.of();
  private ShardPlan plan = ShardPlan.empty();

  private volatile boolean refreshWanted;
  private volatile boolean checked;
  private volatile String refusal; // the partition record refused this node
  private volatile boolean closed;
  private volatile boolean everUp;
  private volatile LinkState state = LinkState.CONNECTING;
  private volatile String downReason;
  private volatile long downSince;
  private volatile long lastStrayLog;
  private long retryMillis = RETRY_MIN_MILLIS; // control thread only

  ShardedReceiver(RedisStream stream, Primaries primaries, Stream source,
      RedisLink.Liveness liveness, Duration mapRefresh, Consumer<LinkState> onLinkChange) {
    this.stream = stream;
    this.primaries = primaries;
    this.source = source;
    this.liveness = liveness;
    this.mapRefresh = mapRefresh;
    this.onLinkChange = onLinkChange;
    this.feeds = new Feed[stream.partitions()];
    for (int i = 0; i < feeds.length; i++) {
      feeds[i] = new Feed(i);
    }
    this.watchdog = Executors.newSingleThreadScheduledExecutor(
        DaemonThreads.named("fanout-redis-watchdog"));
    this.control = Executors.newSingleThreadScheduledExecutor(
        DaemonThreads.named("fanout-redis-map"));
    this.prober = Executors.newCachedThreadPool(DaemonThreads.named("fanout-redis-probe"));
  }

  void start() {
    long tick = liveness.pingInterval().toMillis();
    watchdog.scheduleWithFixedDelay(this::watch, tick, tick, TimeUnit.MILLISECONDS);
    long refresh = mapRefresh.toMillis();
    control.scheduleWithFixedDelay(() -> requestReconcile(true), refresh, refresh,
        TimeUnit.MILLISECONDS);
    requestReconcile(false);
  }

  AutoCloseable subscribe(BusListener listener) {
    AutoCloseable handle = listeners.add(listener);
    for (Feed f : feeds) { // the partitions live before this listener: where they start
      EventId start = f.start;
      if (start != null) {
        listener.onPosition(start);
      }
    }
    return handle;
  }

  /**
   * Receives exactly {@code partitions} from now on; the future completes once each is live
   * (subscribed, caught up to its stream's top, its start told with {@code onPosition}). A
   * partition dropped before it was live fails its future with a {@link CancellationException}.
   */
  CompletableFuture<Void> need(Set<Integer> partitions) {
    for (int p : partitions) {
      if (p < 0 || p >= feeds.length) {
        throw new IllegalArgumentException("partition " + p + " of " + stream.namespace()
            + " does not exist: it has " + feeds.length);
      }
    }
    if (closed) {
      return CompletableFuture.failedFuture(new FanoutRedisException("the bus is closed"));
    }
    List<CompletableFuture<Void>> futures = new ArrayList<>();
    List<Runnable> cancelled = new ArrayList<>();
    synchronized (this) {
      Set<Integer> next = Set.copyOf(partitions);
      for (int p : needed) {
        if (!next.contains(p)) {
          cancelled.add(feeds[p].unwant());
        }
      }
      for (int p : next) {
        futures.add(feeds[p].want());
      }
      needed = next;
    }
    cancelled.forEach(Runnable::run); // outside the lock: they run the caller's continuations
    requestReconcile(false);
    return CompletableFuture.allOf(futures.toArray(new CompletableFuture<?>[0]));
  }

  /** The partitions needed now. */
  synchronized Set<Integer> needed() {
    return needed;
  }

  LinkState state() {
    return state;
  }

  String downReason() {
    return downReason;
  }

  long downs() {
    return downs.get();
  }

  Duration downtime() {
    long current = state != LinkState.DOWN || downSince == 0 ? 0 : System.nanoTime() - downSince;
    return Duration.ofNanos(downNanos.get() + current);
  }

  long strays() {
    return strays.get();
  }

  /** The primaries the node holds a connection to now, and the partitions each carries. */
  Map<String, Set<Integer>> connections() {
    Map<String, Set<Integer>> out = new HashMap<>();
    links.forEach((n, l) -> out.put(l.describe(), l.carried()));
    return out;
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    control.shutdownNow();
    watchdog.shutdownNow();
    prober.shutdownNow();
    for (ShardedLink link : links.values()) {
      link.close();
    }
    links.clear();
    for (Feed f : feeds) {
      f.unwant().run();
    }
    setState(LinkState.CLOSED, null);
  }

  // ---- the map (control thread) ----

  private void requestReconcile(boolean refresh) {
    if (refresh) {
      refreshWanted = true;
    }
    if (!closed && reconcileQueued.compareAndSet(false, true)) {
      try {
        control.execute(this::reconcile);
      } catch (RuntimeException e) { // shut down
        reconcileQueued.set(false);
      }
    }
  }

  /** Reads the map when asked, then makes the connections carry what the plan says. */
  private void reconcile() {
    reconcileQueued.set(false);
    boolean refresh = refreshWanted;
    refreshWanted = false;
    boolean settled;
    try {
      if (!checked && !checkPartitions()) {
        return; // refused: a configuration to fix, not an outage to ride out
      }
      if (refresh) {
        primaries.refresh();
      }
      settled = apply();
    } catch (RuntimeException e) {
      log.warn("reading the map of {} failed: {}", stream, e.toString());
      settled = false;
      if (links.isEmpty() && !needed().isEmpty()) {
        setState(LinkState.DOWN, e.getMessage());
      }
    }
    if (settled) {
      retryMillis = RETRY_MIN_MILLIS;
    } else if (!closed && retryScheduled.compareAndSet(false, true)) {
      long delay = retryMillis;
      retryMillis = Math.min(RETRY_MAX_MILLIS, retryMillis * 2);
      control.schedule(() -> {
        retryScheduled.set(false);
        requestReconcile(true);
      }, delay, TimeUnit.MILLISECONDS);
    }
  }

  /**
   * Whether the namespace's recorded partition count is this node's (recording it when the
   * namespace is new); false, with the bus down for that reason, when it is another.
   *
   * @throws FanoutRedisException when the record cannot be read
   */
  private boolean checkPartitions() {
    try {
      source.checkPartitions();
    } catch (FanoutRedisException e) {
      String why = e.getMessage();
      if (why == null || !why.startsWith("namespace ")) {
        setState(LinkState.DOWN, why);
        throw e;
      }
      if (refusal == null) {
        log.error("this node does not run on {}: {}", stream, why);
      }
      refusal = why;
      setState(LinkState.DOWN, why);
      return false;
    }
    checked = true;
    updateState();
    return true;
  }

  /** Moves partitions to the primaries the map names; true when every needed one is placed. */
  private boolean apply() {
    List<ShardedLink> idle = new ArrayList<>();
    boolean settled = place(idle);
    for (ShardedLink link : idle) { // outside the lock: closing waits for the link's thread
      link.close();
    }
    updateState();
    return settled;
  }

  private synchronized boolean place(List<ShardedLink> idle) {
    if (closed) {
      return true;
    }
    IntFunction<ClusterTopology.Node> map = primaries::primaryOf;
    ShardPlan next = ShardPlan.place(stream, needed, map, plan);
    for (ShardPlan.Change change : ShardPlan.changes(plan, next)) {
      ShardedLink link = links.get(change.primary());
      for (int p : change.drop()) {
        feeds[p].leave(link);
        if (link != null) {
          link.drop(p);
        }
      }
    }
    for (ShardPlan.Change change : ShardPlan.changes(plan, next)) {
      if (change.add().isEmpty()) {
        continue;
      }
      ShardedLink link = links.computeIfAbsent(change.primary(), this::open);
      for (int p : change.add()) {
        feeds[p].join(link);
        link.carry(p);
      }
    }
    plan = next;
    for (Map.Entry<ClusterTopology.Node, SortedSet<Integer>> e
        : plan.byPrimary().entrySet()) {
      ShardedLink link = links.get(e.getKey());
      for (int p : e.getValue()) {
        if (!feeds[p].joined(link)) { // needed again before the map ran: subscribe afresh
          feeds[p].join(link);
          link.drop(p);
          link.carry(p);
        }
      }
    }
    for (Map.Entry<ClusterTopology.Node, ShardedLink> e : new ArrayList<>(links.entrySet())) {
      if (!plan.byPrimary().containsKey(e.getKey())) {
        links.remove(e.getKey());
        idle.add(e.getValue());
      } else {
        e.getValue().resubscribe();
      }
    }
    return plan.partitions().size() == needed.size();
  }

  private ShardedLink open(ClusterTopology.Node primary) {
    ShardedLink link = new ShardedLink(stream, primaries.target(primary), node, liveness,
        new LinkEvents(), prober);
    link.start();
    return link;
  }

  private void watch() {
    for (ShardedLink link : links.values()) {
      link.watch();
    }
  }

  // ---- what the connections say (their threads) ----

  private final class LinkEvents implements ShardedLink.Handler {
    @Override
    public void onSubscribed(ShardedLink link, int partition) {
      feeds[partition].subscribed(link);
    }

    @Override
    public void onMessage(ShardedLink link, int partition, byte[] message) {
      feeds[partition].message(link, message);
    }

    @Override
    public void onIdle(ShardedLink link) {
      for (int p : link.carried()) {
        feeds[p].idle(link);
      }
    }

    @Override
    public void onLost(ShardedLink link, int partition, String why) {
      log.info("{} of {} moves: {}", stream.partition(partition), stream, why);
      feeds[partition].lost(link);
      requestReconcile(true);
    }

    @Override
    public void onDown(ShardedLink link, Collection<Integer> partitions, String why) {
      for (int p : partitions) {
        feeds[p].lost(link);
      }
      requestReconcile(true); // a primary that died may have been replaced
    }

    @Override
    public void onState(ShardedLink link, LinkState linkState) {
      updateState();
    }
  }

  // ---- the bus's state: up when every connection it needs is ----

  private void updateState() {
    if (closed) {
      return;
    }
    if (refusal != null) {
      setState(LinkState.DOWN, refusal);
      return;
    }
    ShardedLink down = null;
    boolean connecting = !checked;
    for (ShardedLink link : links.values()) {
      LinkState s = link.state();
      if (s == LinkState.DOWN) {
        down = link;
      } else if (s == LinkState.CONNECTING) {
        connecting = true;
      }
    }
    if (down != null) {
      setState(LinkState.DOWN, down.downReason());
    } else if (connecting && !everUp) {
      setState(LinkState.CONNECTING, null);
    } else if (!connecting || everUp) {
      setState(LinkState.UP, null);
    }
  }

  private void setState(LinkState next, String why) {
    LinkState previous;
    synchronized (stateLock) {
      previous = state;
      if (previous == LinkState.CLOSED || previous == next) {
        if (next == LinkState.DOWN && why != null) {
          downReason = why;
        }
        return;
      }
      state = next;
      long now = System.nanoTime();
      if (next == LinkState.DOWN) {
        downReason = why;
        downSince = now;
        downs.incrementAndGet();
      } else if (previous == LinkState.DOWN && downSince != 0) {
        downNanos.addAndGet(now - downSince);
      }
      if (next == LinkState.UP) {
        everUp = true;
      }
    }
    try {
      onLinkChange.accept(next);
    } catch (RuntimeException e) {
      log.warn("link listener threw; ignored", e);
    }
    if (next == LinkState.UP || (next == LinkState.DOWN && previous == LinkState.UP)) {
      listeners.busState(next == LinkState.UP);
    }
  }

  private void stray(String what) {
    strays.incrementAndGet();
    long now = System.nanoTime();
    if (now - lastStrayLog > 1_000_000_000L) {
      lastStrayLog = now;
      log.warn("dropped {} on {}: the stream is the truth (dropped so far: {})", what, stream,
          strays.get());
    }
  }

  // ---- one partition ----

  /**
   * One partition as this node receives it: its sequencer, the connection it is subscribed on,
   * whether it is needed and live. Its lock orders its events: the connection's thread holds it
   * while the sequencer reads the stream and delivers.
   */
  private final class Feed implements Sequencer.Output, Sequencer.Source {
    private final int index;
    private final RedisPartition partition;
    private final PartitionHistory history;
    private final SnapshotCache cache; // or null
    private volatile EventId start; // where this node started on it, once known
    // Guarded by this:
    private Sequencer sequencer;
    private ShardedLink owner; // the connection that carries it
    private ShardedLink on; // the connection its subscription is confirmed on; null: not live
    private boolean wanted;
    private CompletableFuture<Void> live = new CompletableFuture<>();

    Feed(int index) {
      this.index = index;
      this.partition = stream.partition(index);
      this.history = source.history(index);
      this.cache = history.cache();
      this.sequencer = newSequencer();
    }

    private Sequencer newSequencer() {
      return new Sequencer(this, this, System::nanoTime, partition);
    }

    synchronized CompletableFuture<Void> want() {
      wanted = true;
      return live;
    }

    /**
     * No connection needs it any more: it is forgotten, so that when it is needed again it
     * starts afresh at its stream's top (and says so), as on a node's start.
     */
    Runnable unwant() {
      CompletableFuture<Void> pending;
      synchronized (this) {
        if (!wanted) {
          return () -> { };
        }
        wanted = false;
        owner = null;
        on = null;
        sequencer = newSequencer();
        start = null;
        pending = live.isDone() ? null : live;
        live = new CompletableFuture<>();
        if (cache != null) {
          cache.forget();
        }
      }
      return () -> {
        if (pending != null) {
          pending.completeExceptionally(new CancellationException(partition + " of " + stream
              + " is no longer needed"));
        }
      };
    }

    /** Moved off {@code link} (the map changed): not live until the next one confirms it. */
    synchronized void leave(ShardedLink link) {
      if (owner == link) {
        owner = null;
      }
      notLive(link);
    }

    synchronized void join(ShardedLink link) {
      owner = link;
    }

    synchronized boolean joined(ShardedLink link) {
      return owner == link;
    }

    /** Its subscription on {@code link} ended (connection down, slot moved). */
    synchronized void lost(ShardedLink link) {
      notLive(link);
    }

    private void notLive(ShardedLink link) {
      if (on == link && link != null) {
        on = null;
        if (live.isDone()) {
          live = new CompletableFuture<>();
        }
        if (cache != null) { // what Redis holds when it is back may not be what we saw
          cache.forget();
        }
      }
    }

    /** Subscribed on {@code link}: catch up from the stream, then it is live. */
    void subscribed(ShardedLink link) {
      CompletableFuture<Void> done = null;
      synchronized (this) {
        if (owner != link || !wanted) {
          return; // moved on meanwhile
        }
        on = link;
        sequencer.onConnected();
        if (!live.isDone()) {
          done = live;
        }
      }
      if (done != null) {
        done.complete(null);
      }
    }

    void message(ShardedLink link, byte[] message) {
      Event event;
      try {
        event = Netstrings.decodeEvent(message, partition);
      } catch (RuntimeException e) {
        ShardedReceiver.this.stray("a malformed message on " + partition.channel() + " ("
            + e.getMessage() + ")");
        return;
      }
      synchronized (this) {
        if (on == link) {
          sequencer.onMessage(event);
        }
      }
    }

    synchronized void idle(ShardedLink link) {
      if (on == link) {
        sequencer.onIdle();
      }
    }

    // Sequencer.Source: this partition's stream

    @Override
    public Position position() {
      return history.position();
    }

    @Override
    public Recovery readAfter(String epoch, long afterSeq, int max, List<Event> out) {
      return history.readAfter(epoch, afterSeq, max, out);
    }

    @Override
    public long oldestSeq() {
      return history.oldestSeq();
    }

    @Override
    public void newEpoch(String expected) {
      source.newEpoch(index, expected);
    }

    // Sequencer.Output: the listeners (called with this feed's lock held)

    @Override
    public void deliver(Event event) {
      if (cache != null) { // first: a snapshot asked after the hub routes it finds it in memory
        cache.add(event);
      }
      listeners.event(event);
    }

    @Override
    public void discontinuity(String reason) {
      log.warn("events lost on {} {}: {}", stream, partition, reason);
      if (cache != null) {
        cache.forget();
      }
      if (feeds.length == 1) {
        listeners.discontinuity(reason);
      } else {
        listeners.discontinuity(index, reason);
      }
    }

    @Override
    public void startsAt(EventId position) {
      start = position;
      listeners.position(position);
    }

    @Override
    public void stray(Event event, String why) {
      ShardedReceiver.this.stray("message " + event.id() + " " + why);
    }
  }
}
