package dev.fanout.redis;

import dev.fanout.core.Bus;
import dev.fanout.core.BusListener;
import dev.fanout.core.Event;
import dev.fanout.core.EventId;
import dev.fanout.core.Recovery;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.BinaryJedisPubSub;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.util.Pool;
import redis.clients.jedis.exceptions.JedisException;

/**
 * The {@link Bus} over Redis: publishes through the {@code fanout_publish} function and receives
 * on one Pub/Sub connection per node, on a thread of its own.
 *
 * <p>What it guarantees to its listeners: events in id order, no duplicates, and no silent gap.
 * The stream is the truth and Pub/Sub a fast hint ({@link Sequencer} holds the rules): a gap on
 * the live path (105 after 103) is filled from the stream before 105 is delivered; after a
 * reconnect everything after the last delivered id is read from the stream first; a message the
 * stream does not hold is dropped and counted ({@link #strayMessages()}). What the stream cannot
 * give back (trimmed, lost in a failover, or a stream created afresh) is reported with {@link
 * BusListener#onDiscontinuity}, so the hub can resynchronize its clients.
 *
 * <p>A dead link is noticed within about two seconds however it died: Redis killed (the socket
 * errors), Redis paused or the TCP link silently gone (no pong to the pings sent every {@code
 * pingInterval}), or a subscription that is up but no longer receives (the node's own probe,
 * published every second, stops arriving). It then reconnects with exponential backoff and
 * jitter. Clients stay connected throughout.
 *
 * <pre>{@code
 * RedisBus bus = RedisBus.builder(URI.create("redis://127.0.0.1:6379"), RedisStream.named("payments"))
 *     .build();
 * Hub hub = Hub.builder().bus(bus).history(bus.history()).build();
 * }</pre>
 */
public final class RedisBus implements Bus {
  private static final Logger log = LoggerFactory.getLogger(RedisBus.class);

  /** The state of the node's Pub/Sub link. */
  public enum LinkState {
    CONNECTING,
    UP,
    DOWN,
    CLOSED;

    public boolean isUp() {
      return this == UP;
    }
  }

  private final RedisEndpoint endpoint;
  private final RedisStream stream;
  private final Pool<Jedis> pool;
  private final RedisPublisher publisher;
  private final RedisHistory history;
  private final String node;
  private final Settings settings;
  private final Consumer<LinkState> onLinkChange;
  private final byte[] eventsChannel;
  private final List<BusListener> listeners = new CopyOnWriteArrayList<>();
  private final Thread subscriberThread;
  private final ScheduledExecutorService watchdog;
  private final ExecutorService prober;

  private volatile boolean closed;
  private volatile LinkState state = LinkState.CONNECTING;
  private volatile Jedis subscriberConnection;
  private volatile Listener subscription;
  private volatile long lastHeard; // nanoTime of the last pong, probe or message
  private volatile long lastProbe; // nanoTime of the last own probe received
  private volatile long downSince;
  private volatile String downReason;
  private long lastProbeSent; // watchdog thread only
  private final AtomicBoolean probeInFlight = new AtomicBoolean();

  private final Sequencer sequencer; // subscriber thread only
  private volatile EventId startPosition; // the stream's top when this bus first caught up
  private final AtomicLong strayMessages = new AtomicLong();
  private volatile long lastStrayLog;

  private RedisBus(Builder b) {
    this.endpoint = b.endpoint;
    this.stream = b.stream;
    this.settings = new Settings(b);
    this.onLinkChange = b.onLinkChange;
    this.pool = endpoint.newPool(b.poolSize);
    this.publisher = new RedisPublisher(pool, false, stream);
    this.history = new RedisHistory(pool, false, stream, b.maxScan, b.maxRecovery);
    this.eventsChannel = bytes(stream.channel());
    this.node = Long.toString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE, 36);
    this.watchdog = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "fanout-redis-watchdog");
      t.setDaemon(true);
      return t;
    });
    this.prober = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "fanout-redis-probe");
      t.setDaemon(true);
      return t;
    });
    this.sequencer = new Sequencer(new StreamSource(), new SequenceOutput(), System::nanoTime);
    this.subscriberThread = new Thread(this::subscribeLoop, "fanout-redis-subscriber");
    this.subscriberThread.setDaemon(true);
    this.subscriberThread.start();
    long tick = settings.pingInterval.toMillis();
    watchdog.scheduleWithFixedDelay(this::watch, tick, tick, TimeUnit.MILLISECONDS);
  }

  public static Builder builder(URI redis, RedisStream stream) {
    return new Builder(redis, stream);
  }

  @Override
  public EventId publish(String topic, Map<String, String> attributes, String data) {
    return publisher.publish(topic, attributes, data);
  }

  @Override
  public AutoCloseable subscribe(BusListener listener) {
    Objects.requireNonNull(listener, "listener");
    listeners.add(listener);
    EventId start = startPosition;
    if (start != null) { // the bus started before this listener: tell it where (idempotent)
      listener.onPosition(start);
    }
    return () -> listeners.remove(listener);
  }

  /** The history of this bus's stream, sharing its connection pool. */
  public RedisHistory history() {
    return history;
  }

  public LinkState linkState() {
    return state;
  }

  /** Why the link went down last (null before it ever did), for health pages and logs. */
  public String linkDownReason() {
    return downReason;
  }

  /**
   * Connects to {@code redis} once (through its sentinels, TLS and credentials) and pings, so a
   * server can refuse to start on a bad configuration instead of retrying forever.
   *
   * @throws FanoutRedisException with one line saying what is wrong: unreachable, credentials
   *     refused, certificate not trusted, sentinels that do not name the master
   * @throws IllegalArgumentException when the URI itself is malformed
   */
  public static void check(URI redis) {
    RedisEndpoint.parse(redis, Duration.ofSeconds(2)).check();
  }

  /**
   * Messages received on the channel and not delivered because the stream does not hold them:
   * malformed, forged, from another deployment publishing on the same channel, or of an epoch the
   * stream moved past. A rising count means something else publishes on this channel.
   */
  public long strayMessages() {
    return strayMessages.get();
  }

  /** Stops the subscriber and watchdog threads and closes every connection; returns promptly. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    setState(LinkState.CLOSED);
    watchdog.shutdownNow();
    prober.shutdownNow();
    disconnectSubscriber();
    subscriberThread.interrupt();
    try {
      subscriberThread.join(2000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (subscriberThread.isAlive()) {
      log.warn("the Redis subscriber thread did not stop within 2 s");
    }
    pool.close();
  }

  // ---- subscriber thread ----

  private void subscribeLoop() {
    long backoff = settings.backoffMin.toMillis();
    while (!closed) {
      Jedis jedis = null;
      try {
        jedis = endpoint.newConnection();
        subscriberConnection = jedis;
        if (closed) {
          break;
        }
        Listener l = new Listener();
        subscription = l;
        byte[][] channels = {eventsChannel, bytes(stream.probeChannel(node))};
        jedis.subscribe(l, channels); // blocks until unsubscribed or the link breaks
        if (l.failed != null) {
          throw l.failed;
        }
      } catch (JedisException | FanoutRedisException e) {
        if (closed) {
          break;
        }
        linkDown(endpoint.describe(e));
      } catch (RuntimeException e) {
        if (closed) {
          break;
        }
        log.error("unexpected failure on the Redis subscriber thread; reconnecting", e);
        linkDown(e.toString());
      } finally {
        subscription = null;
        subscriberConnection = null;
        closeQuietly(jedis);
      }
      if (closed) {
        break;
      }
      if (state == LinkState.UP) {
        backoff = settings.backoffMin.toMillis();
      }
      long sleep = ThreadLocalRandom.current().nextLong(backoff / 2, backoff + 1);
      try {
        Thread.sleep(sleep);
      } catch (InterruptedException e) {
        if (closed) {
          break;
        }
      }
      backoff = Math.min(settings.backoffMax.toMillis(), backoff * 2);
    }
  }

  /** Runs on the subscriber thread; Redis delivers to it in order. */
  private final class Listener extends BinaryJedisPubSub {
    RuntimeException failed;

    @Override
    public void onSubscribe(byte[] channel, int subscribedChannels) {
      if (subscribedChannels < 2) {
        return;
      }
      long now = System.nanoTime();
      lastHeard = now;
      lastProbe = now;
      if (!run(sequencer::onConnected)) {
        return;
      }
      if (state != LinkState.UP) {
        long downMillis = downSince == 0 ? 0 : (now - downSince) / 1_000_000;
        log.info("Redis link up ({}), caught up at {}{}", endpoint, sequencer.position(),
            downSince == 0 ? "" : " after " + downMillis + " ms down");
      }
      setState(LinkState.UP);
    }

    @Override
    public void onMessage(byte[] channel, byte[] message) {
      lastHeard = System.nanoTime();
      if (!Arrays.equals(channel, eventsChannel)) {
        lastProbe = lastHeard;
        return;
      }
      Event event;
      try {
        event = Netstrings.decodeEvent(message);
      } catch (RuntimeException e) {
        stray("a malformed message (" + e.getMessage() + ")");
        return;
      }
      run(() -> sequencer.onMessage(event));
    }

    @Override
    public void onPong(byte[] pattern) {
      lastHeard = System.nanoTime();
      run(sequencer::onIdle);
    }

    /** Runs a step of the sequencer; a failure (Redis unreachable) ends this subscription. */
    private boolean run(Runnable step) {
      try {
        step.run();
        return true;
      } catch (RuntimeException e) {
        failed = e;
        unsubscribe();
        return false;
      }
    }
  }

  /** The sequencer's view of the stream. */
  private final class StreamSource implements Sequencer.Source {
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
      publisher.newEpoch(expected);
    }
  }

  /** Where the sequence goes: the listeners, and the stray counter. */
  private final class SequenceOutput implements Sequencer.Output {
    @Override
    public void deliver(Event event) {
      for (BusListener l : listeners) {
        try {
          l.onEvent(event);
        } catch (RuntimeException e) {
          log.warn("bus listener {} threw on {}; ignored", l, event, e);
        }
      }
    }

    @Override
    public void discontinuity(String reason) {
      log.warn("events lost on {}: {}", stream, reason);
      for (BusListener l : listeners) {
        try {
          l.onDiscontinuity(reason);
        } catch (RuntimeException e) {
          log.warn("bus listener {} threw on a discontinuity; ignored", l, e);
        }
      }
    }

    @Override
    public void startsAt(EventId position) {
      startPosition = position;
      for (BusListener l : listeners) {
        l.onPosition(position);
      }
    }

    @Override
    public void stray(Event event, String why) {
      RedisBus.this.stray("message " + event.id() + " " + why);
    }
  }

  /** Counts a message on the channel that was not delivered; logs at most one a second. */
  private void stray(String what) {
    strayMessages.incrementAndGet();
    long now = System.nanoTime();
    if (now - lastStrayLog > 1_000_000_000L) {
      lastStrayLog = now;
      log.warn("dropped {} on {}: the stream is the truth (dropped so far: {})", what,
          stream.channel(), strayMessages.get());
    }
  }

  // ---- watchdog ----

  private void watch() {
    try {
      Listener l = subscription;
      if (closed || l == null || state != LinkState.UP) {
        return;
      }
      long now = System.nanoTime();
      long silent = now - lastHeard;
      long noProbe = now - lastProbe;
      if (silent > settings.deadAfter.toNanos()) {
        kill("no answer from Redis for " + silent / 1_000_000 + " ms");
        return;
      }
      if (noProbe > settings.probeDeadAfter.toNanos()) {
        kill("own probe not received for " + noProbe / 1_000_000 + " ms");
        return;
      }
      l.ping();
      if (now - lastProbeSent > settings.probeInterval.toNanos()
          && probeInFlight.compareAndSet(false, true)) {
        lastProbeSent = now;
        prober.execute(this::sendProbe); // a paused Redis blocks it; the watchdog must not wait
      }
    } catch (RuntimeException e) {
      log.debug("watchdog tick failed: {}", e.toString());
    }
  }

  private void sendProbe() {
    try (Jedis jedis = pool.getResource()) {
      jedis.publish(stream.probeChannel(node), "p");
    } catch (JedisException e) {
      log.debug("probe publish failed: {}", e.toString());
    } finally {
      probeInFlight.set(false);
    }
  }

  private void kill(String why) {
    log.warn("Redis link to {} considered dead: {}; reconnecting", endpoint, why);
    linkDown(why);
    disconnectSubscriber();
  }

  private void disconnectSubscriber() {
    Jedis j = subscriberConnection;
    if (j != null) {
      try {
        j.disconnect();
      } catch (RuntimeException e) {
        log.debug("closing the subscriber connection failed", e);
      }
    }
  }

  private void linkDown(String why) {
    downReason = why;
    if (state == LinkState.UP || state == LinkState.CONNECTING) {
      downSince = System.nanoTime();
      log.warn("Redis link to {} down: {}", endpoint, why);
    }
    setState(LinkState.DOWN);
  }

  private void setState(LinkState next) {
    if (state == LinkState.CLOSED && next != LinkState.CLOSED) {
      return;
    }
    LinkState previous = state;
    state = next;
    if (previous != next) {
      try {
        onLinkChange.accept(next);
      } catch (RuntimeException e) {
        log.warn("link listener threw; ignored", e);
      }
    }
  }

  private static void closeQuietly(Jedis jedis) {
    if (jedis != null) {
      try {
        jedis.close();
      } catch (RuntimeException e) {
        log.debug("closing a Redis connection failed", e);
      }
    }
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static final class Settings {
    final Duration pingInterval;
    final Duration deadAfter;
    final Duration probeInterval;
    final Duration probeDeadAfter;
    final Duration backoffMin;
    final Duration backoffMax;

    Settings(Builder b) {
      this.pingInterval = b.pingInterval;
      this.deadAfter = b.deadAfter;
      this.probeInterval = b.probeInterval;
      this.probeDeadAfter = b.probeDeadAfter;
      this.backoffMin = b.backoffMin;
      this.backoffMax = b.backoffMax;
    }
  }

  /** Builds a {@link RedisBus}; every setting has a default and is validated eagerly. */
  public static final class Builder {
    private final RedisEndpoint endpoint;
    private final RedisStream stream;
    private Duration pingInterval = Duration.ofMillis(250);
    private Duration deadAfter = Duration.ofMillis(1500);
    private Duration probeInterval = Duration.ofSeconds(1);
    private Duration probeDeadAfter = Duration.ofMillis(2500);
    private Duration backoffMin = Duration.ofMillis(100);
    private Duration backoffMax = Duration.ofSeconds(5);
    private int poolSize = 16;
    private int maxScan = RedisHistory.DEFAULT_MAX_SCAN;
    private int maxRecovery = RedisHistory.DEFAULT_MAX_RECOVERY;
    private Consumer<LinkState> onLinkChange = s -> {};

    private Builder(URI redis, RedisStream stream) {
      this.stream = Objects.requireNonNull(stream, "stream");
      this.endpoint = RedisEndpoint.parse(redis, Duration.ofSeconds(2));
    }

    /**
     * Ping the subscriber link every {@code interval} and consider it dead after {@code
     * deadAfter} without an answer; default 250 ms and 1.5 s.
     */
    public Builder liveness(Duration interval, Duration deadAfter) {
      requirePositive(interval, "ping interval");
      if (deadAfter.compareTo(interval.multipliedBy(2)) < 0) {
        throw new IllegalArgumentException("deadAfter " + deadAfter
            + " must be at least twice the ping interval " + interval);
      }
      this.pingInterval = interval;
      this.deadAfter = deadAfter;
      return this;
    }

    /** Reconnect backoff: from {@code min}, doubling, capped at {@code max}, with jitter. */
    public Builder backoff(Duration min, Duration max) {
      requirePositive(min, "minimum backoff");
      if (max.compareTo(min) < 0) {
        throw new IllegalArgumentException("maximum backoff " + max + " is below minimum " + min);
      }
      this.backoffMin = min;
      this.backoffMax = max;
      return this;
    }

    /** Connections in the pool used for publishing and history reads; default 16. */
    public Builder poolSize(int size) {
      if (size < 1) {
        throw new IllegalArgumentException("pool size must be at least 1, got " + size);
      }
      this.poolSize = size;
      return this;
    }

    /** Snapshot scan bound and resume bound of {@link #history()}. */
    public Builder historyLimits(int maxScan, int maxRecovery) {
      if (maxScan < 1 || maxRecovery < 1) {
        throw new IllegalArgumentException("history limits must be at least 1, got maxScan="
            + maxScan + " maxRecovery=" + maxRecovery);
      }
      this.maxScan = maxScan;
      this.maxRecovery = maxRecovery;
      return this;
    }

    /** Called on every change of the link state (for metrics and health). */
    public Builder onLinkChange(Consumer<LinkState> listener) {
      this.onLinkChange = Objects.requireNonNull(listener, "listener");
      return this;
    }

    /** Starts the subscriber; the link comes up in the background. */
    public RedisBus build() {
      return new RedisBus(this);
    }

    private static void requirePositive(Duration d, String what) {
      Objects.requireNonNull(d, what);
      if (d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException(what + " must be positive, got " + d);
      }
    }
  }
}
