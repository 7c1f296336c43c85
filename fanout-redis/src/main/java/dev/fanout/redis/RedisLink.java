package dev.fanout.redis;

import dev.fanout.core.LinkState;
import dev.fanout.core.internal.DaemonThreads;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.BinaryJedisPubSub;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.exceptions.JedisException;
import redis.clients.jedis.util.Pool;

/**
 * A node's Pub/Sub link to the primary: one connection on a thread of its own (Jedis's subscribe
 * blocks), found afresh through the endpoint on every (re)connect (the sentinels' current
 * primary), kept honest by a watchdog, and reopened with backoff and jitter when it dies.
 *
 * <p>A dead link is noticed within about two seconds however it died: Redis killed (the socket
 * errors), Redis paused or the TCP link silently gone (no pong to the pings sent every {@code
 * pingInterval}), or a subscription that is up but no longer receives, such as one left on a
 * demoted primary (the node's own probe, published through the pool every {@code
 * probeInterval}, stops arriving).
 *
 * <p>What arrives goes to the {@link Handler}, on the subscriber thread, in order. A handler that
 * throws ends the subscription; the link reconnects and calls {@link Handler#onConnected} again.
 */
final class RedisLink implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(RedisLink.class);

  /** What the link delivers; every method runs on the subscriber thread. */
  interface Handler {
    /** Subscribed (again): catch up before the first message. */
    void onConnected();

    /** A message on the events channel. */
    void onMessage(byte[] message);

    /** A pong: the link is quiet and alive. */
    void onIdle();
  }

  /** How the link judges itself, and how it retries. */
  record Liveness(Duration pingInterval, Duration deadAfter, Duration probeInterval,
      Duration probeDeadAfter, Duration backoffMin, Duration backoffMax) {}

  private final RedisEndpoint endpoint;
  private final Pool<Jedis> pool;
  private final byte[] eventsChannel;
  private final String probeChannel;
  private final Liveness liveness;
  private final Handler handler;
  private final LinkHealth health;
  private final Thread subscriberThread;
  private final ScheduledExecutorService watchdog;
  private final ExecutorService prober;
  private final AtomicBoolean probeInFlight = new AtomicBoolean();

  private volatile boolean closed;
  private volatile Jedis connection;
  private volatile Listener subscription;
  private volatile long lastHeard; // nanoTime of the last pong, probe or message
  private volatile long lastProbe; // nanoTime of the last own probe received
  private long lastProbeSent; // watchdog thread only

  RedisLink(RedisEndpoint endpoint, Pool<Jedis> pool, RedisStream stream, String node,
      Liveness liveness, Handler handler, Consumer<LinkState> onChange) {
    this.endpoint = endpoint;
    this.pool = pool;
    this.eventsChannel = stream.channel().getBytes(StandardCharsets.UTF_8);
    this.probeChannel = stream.probeChannel(node);
    this.liveness = liveness;
    this.handler = handler;
    this.health = new LinkHealth(log, endpoint.toString(), onChange);
    this.watchdog = Executors.newSingleThreadScheduledExecutor(
        DaemonThreads.named("fanout-redis-watchdog"));
    this.prober = Executors.newSingleThreadExecutor(DaemonThreads.named("fanout-redis-probe"));
    this.subscriberThread = DaemonThreads.unstarted("fanout-redis-subscriber",
        this::subscribeLoop);
  }

  void start() {
    subscriberThread.start();
    long tick = liveness.pingInterval().toMillis();
    watchdog.scheduleWithFixedDelay(this::watch, tick, tick, TimeUnit.MILLISECONDS);
  }

  LinkState state() {
    return health.state();
  }

  String downReason() {
    return health.downReason();
  }

  /** Times the link went down since start. */
  long downs() {
    return health.downs();
  }

  /** Time the link was down since start, the current outage included. */
  Duration downtime() {
    return health.downtime();
  }

  /** Stops the threads and closes the subscriber connection; returns promptly. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    health.set(LinkState.CLOSED);
    watchdog.shutdownNow();
    prober.shutdownNow();
    disconnect();
    subscriberThread.interrupt();
    try {
      subscriberThread.join(2000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (subscriberThread.isAlive()) {
      log.warn("the Redis subscriber thread did not stop within 2 s");
    }
  }

  // ---- subscriber thread ----

  private void subscribeLoop() {
    long backoff = liveness.backoffMin().toMillis();
    while (!closed) {
      Jedis jedis = null;
      try {
        jedis = endpoint.newConnection();
        connection = jedis;
        if (closed) {
          break;
        }
        Listener l = new Listener();
        subscription = l;
        jedis.subscribe(l, eventsChannel, probeChannel.getBytes(StandardCharsets.UTF_8));
        if (l.failed != null) {
          throw l.failed;
        }
      } catch (JedisException | FanoutRedisException e) {
        if (!closed) {
          health.down(endpoint.describe(e));
        }
      } catch (RuntimeException e) {
        if (!closed) {
          log.error("unexpected failure on the Redis subscriber thread; reconnecting", e);
          health.down(e.toString());
        }
      } finally {
        subscription = null;
        connection = null;
        closeQuietly(jedis);
      }
      if (closed) {
        break;
      }
      backoff = health.pauseAfterFailure(backoff, liveness);
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
      if (run(handler::onConnected)) {
        health.up();
      }
    }

    @Override
    public void onMessage(byte[] channel, byte[] message) {
      lastHeard = System.nanoTime();
      if (!Arrays.equals(channel, eventsChannel)) {
        lastProbe = lastHeard;
        return;
      }
      run(() -> handler.onMessage(message));
    }

    @Override
    public void onPong(byte[] pattern) {
      lastHeard = System.nanoTime();
      run(handler::onIdle);
    }

    /** Runs a handler step; a failure (Redis unreachable) ends this subscription. */
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

  // ---- watchdog ----

  private void watch() {
    try {
      Listener l = subscription;
      if (closed || l == null || health.state() != LinkState.UP) {
        return;
      }
      long now = System.nanoTime();
      long silent = now - lastHeard;
      long noProbe = now - lastProbe;
      if (silent > liveness.deadAfter().toNanos()) {
        kill("no answer from Redis for " + silent / 1_000_000 + " ms");
        return;
      }
      if (noProbe > liveness.probeDeadAfter().toNanos()) {
        kill("own probe not received for " + noProbe / 1_000_000 + " ms");
        return;
      }
      l.ping();
      if (now - lastProbeSent > liveness.probeInterval().toNanos()
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
      jedis.publish(probeChannel, "p");
    } catch (JedisException e) {
      RedisEndpoint.forgetIdleAfter(e, pool);
      log.debug("probe publish failed: {}", e.toString());
    } finally {
      probeInFlight.set(false);
    }
  }

  private void kill(String why) {
    log.warn("Redis link to {} considered dead: {}; reconnecting", endpoint, why);
    health.down(why);
    disconnect();
  }

  private void disconnect() {
    Jedis j = connection;
    if (j != null) {
      try {
        j.disconnect();
      } catch (RuntimeException e) {
        log.debug("closing the subscriber connection failed", e);
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
}
