package dev.fanout.redis;

import dev.fanout.core.LinkState;
import dev.fanout.core.internal.DaemonThreads;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.Protocol;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.exceptions.JedisException;

/**
 * One sharded Pub/Sub connection of a node to one primary, on a thread of its own, carrying the
 * partitions the node needs whose slots that primary serves ({@code SSUBSCRIBE}, one command per
 * partition: a cluster refuses channels of two slots in one, see {@link ShardPlan}). Beside
 * {@link RedisLink} (one classic Pub/Sub link for a stream of one partition), with the same
 * liveness: a watchdog pings every {@code pingInterval} and the node's own probe (published with
 * {@code SPUBLISH} to a channel in the slot of one of the partitions carried) must come back; a
 * dead connection is reopened with backoff and jitter, and every partition it carried
 * subscribed again, at most one {@code SSUBSCRIBE} each.
 *
 * <p>What the cluster says goes to the {@link Handler}: a partition subscribed (catch up), a
 * message, a subscription the node did not end ({@code sunsubscribe} unasked: its slot moved to
 * another primary) or refused ({@code MOVED}: the node's map is stale), the connection down.
 * Partitions are added and dropped from any thread ({@link #carry}, {@link #drop}); the replies
 * are matched to the commands in the order Redis answers them.
 */
final class ShardedLink implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ShardedLink.class);
  private static final byte[] SMESSAGE = "smessage".getBytes(StandardCharsets.US_ASCII);

  /** The primary this link connects to, and how it probes itself. */
  interface Target {
    /** A new sharded Pub/Sub connection to the primary. */
    PubSubConnection connect();

    /** {@code SPUBLISH channel p} on the same primary, through a pooled connection. */
    void probe(String channel);

    /** The primary, for logs and messages. */
    String describe();
  }

  /** What the link receives; every method runs on the link's thread, in order. */
  interface Handler {
    /** {@code partition} is subscribed (again): catch it up. Throwing ends the connection. */
    void onSubscribed(ShardedLink link, int partition);

    /** A message on {@code partition}'s channel. */
    void onMessage(ShardedLink link, int partition, byte[] message);

    /** A pong: the link is quiet and alive. */
    void onIdle(ShardedLink link);

    /**
     * {@code partition} is not subscribed here any more, and the node did not ask: the primary
     * no longer serves its slot (an unasked {@code sunsubscribe}, a {@code MOVED}).
     */
    void onLost(ShardedLink link, int partition, String why);

    /**
     * The connection died or could not be made; {@code partitions} were subscribed on it. The
     * link reconnects by itself, unless the node moves them elsewhere.
     */
    void onDown(ShardedLink link, Collection<Integer> partitions, String why);

    /** The link's state changed. */
    void onState(ShardedLink link, LinkState state);
  }

  /** A command on the wire, and the channels whose replies are still to come, in order. */
  private static final class Pending {
    final Protocol.Command command;
    final ArrayDeque<String> channels;

    Pending(Protocol.Command command, List<String> channels) {
      this.command = command;
      this.channels = new ArrayDeque<>(channels);
    }
  }

  private final RedisStream stream;
  private final Target target;
  private final String node;
  private final RedisLink.Liveness liveness;
  private final Handler handler;
  private final LinkHealth health;
  private final Executor prober;
  private final byte[][] channels; // partition -> its channel's bytes
  private final int indexAt; // where a channel's partition number starts: {<ns>:<i>:<n>}:events
  private final Thread thread;
  private final AtomicBoolean probeInFlight = new AtomicBoolean();

  // Guarded by this:
  private final SortedSet<Integer> carried = new TreeSet<>();
  private final Map<Integer, Boolean> subscribed = new HashMap<>(); // false: SSUBSCRIBE sent
  private final ArrayDeque<Pending> pending = new ArrayDeque<>();
  private PubSubConnection connection;
  private int probeAnchor = -1; // the partition whose slot the probe channel shares
  private String probeChannel; // subscribed or on its way; null: none

  private volatile byte[] probeBytes; // the probe channel once confirmed
  private volatile boolean closed;
  private volatile long lastHeard;
  private volatile long lastProbe;
  private long lastProbeSent; // watchdog thread only

  ShardedLink(RedisStream stream, Target target, String node, RedisLink.Liveness liveness,
      Handler handler, Executor prober) {
    this.stream = stream;
    this.target = target;
    this.node = node;
    this.liveness = liveness;
    this.handler = handler;
    this.health = new LinkHealth(log, target.describe(), next -> handler.onState(this, next));
    this.prober = prober;
    this.channels = new byte[stream.partitions()][];
    for (int i = 0; i < channels.length; i++) {
      channels[i] = stream.partition(i).channel().getBytes(StandardCharsets.UTF_8);
    }
    this.indexAt = ("{" + stream.namespace() + ":").length();
    this.thread = DaemonThreads.unstarted("fanout-redis-shard-" + target.describe(), this::run);
  }

  void start() {
    thread.start();
  }

  String describe() {
    return target.describe();
  }

  LinkState state() {
    return health.state();
  }

  String downReason() {
    return health.downReason();
  }

  /** The partitions this link carries (subscribed or on their way). */
  synchronized SortedSet<Integer> carried() {
    return new TreeSet<>(carried);
  }

  /** Carries {@code partition} from now on: subscribes it if connected, else on connecting. */
  synchronized void carry(int partition) {
    if (carried.add(partition) && connection != null) {
      subscribe(List.of(partition));
    }
  }

  /** Stops carrying {@code partition}: unsubscribes it if it was subscribed. */
  synchronized void drop(int partition) {
    carried.remove(partition);
    Boolean was = subscribed.remove(partition);
    if (connection != null && was != null) {
      send(Protocol.Command.SUNSUBSCRIBE, List.of(stream.partition(partition).channel()));
    }
    if (partition == probeAnchor) {
      reanchorProbe(true);
    }
  }

  /**
   * Subscribes again what it carries and is not subscribed: a partition the cluster refused
   * ({@code MOVED}) while the node's map still says it is here.
   */
  synchronized void resubscribe() {
    if (connection == null) {
      return;
    }
    List<Integer> missing = new ArrayList<>();
    for (int p : carried) {
      if (!subscribed.containsKey(p)) {
        missing.add(p);
      }
    }
    if (!missing.isEmpty()) {
      subscribe(missing);
    }
  }

  /** Sends one SSUBSCRIBE per partition; the probe rides with the first when it has none. */
  private void subscribe(Collection<Integer> partitions) {
    if (probeChannel == null) {
      probeAnchor = partitions.iterator().next();
      probeChannel = stream.partition(probeAnchor).probeChannel(node);
    }
    for (List<String> command : ShardPlan.ssubscribes(stream, partitions, probeAnchor,
        probeChannel)) {
      for (String channel : command) {
        int p = partitionOf(channel.getBytes(StandardCharsets.UTF_8));
        if (p >= 0) {
          subscribed.put(p, false);
        }
      }
      send(Protocol.Command.SSUBSCRIBE, command);
    }
  }

  /** The probe's partition went away: the probe moves to another subscribed partition's slot. */
  private void reanchorProbe(boolean unsubscribe) {
    String old = probeChannel;
    probeChannel = null;
    probeBytes = null;
    probeAnchor = -1;
    if (connection == null) {
      return;
    }
    if (unsubscribe && old != null) {
      send(Protocol.Command.SUNSUBSCRIBE, List.of(old));
    }
    int anchor = ShardPlan.probeAnchor(new TreeSet<>(subscribed.keySet()), -1);
    if (anchor >= 0) {
      probeAnchor = anchor;
      probeChannel = stream.partition(anchor).probeChannel(node);
      send(Protocol.Command.SSUBSCRIBE, List.of(probeChannel));
    }
  }

  private void send(Protocol.Command command, List<String> args) {
    pending.addLast(new Pending(command, args));
    try {
      connection.send(command, args);
    } catch (JedisException e) { // the reader sees the broken connection too, and reconnects
      log.debug("sending {} to {} failed: {}", command, target.describe(), e.toString());
      connection.disconnect();
    }
  }

  /** Stops the thread and closes the connection; returns promptly. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    health.set(LinkState.CLOSED);
    disconnect();
    thread.interrupt();
    try {
      thread.join(2000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (thread.isAlive()) {
      log.warn("the Redis subscriber thread of {} did not stop within 2 s", target.describe());
    }
  }

  // ---- the link's thread ----

  private void run() {
    long backoff = liveness.backoffMin().toMillis();
    while (!closed) {
      PubSubConnection c = null;
      List<Integer> had = List.of();
      try {
        c = target.connect();
        long now = System.nanoTime();
        lastHeard = now;
        lastProbe = now;
        synchronized (this) {
          if (closed) {
            break;
          }
          connection = c;
          if (!carried.isEmpty()) {
            subscribe(carried);
          }
          if (pending.isEmpty()) { // nothing to carry (yet): a ping says the link is up
            send(Protocol.Command.PING, List.of());
          }
        }
        read(c);
      } catch (JedisException | FanoutRedisException e) {
        if (!closed) {
          health.down(describe(e));
        }
      } catch (RuntimeException e) {
        if (!closed) {
          log.error("unexpected failure on the Redis subscriber thread of {}; reconnecting",
              target.describe(), e);
          health.down(e.toString());
        }
      } finally {
        synchronized (this) {
          had = new ArrayList<>(subscribed.keySet());
          connection = null;
          subscribed.clear();
          pending.clear();
          probeChannel = null;
          probeBytes = null;
          probeAnchor = -1;
        }
        if (c != null) {
          try {
            c.close();
          } catch (RuntimeException e) {
            log.debug("closing a subscriber connection failed", e);
          }
        }
      }
      if (closed) {
        break;
      }
      handler.onDown(this, had, health.downReason());
      backoff = health.pauseAfterFailure(backoff, liveness);
    }
  }

  private String describe(Throwable e) {
    String why = e.getMessage() == null ? e.toString() : e.getMessage();
    if (e instanceof FanoutRedisException) {
      return why;
    }
    return "Redis at " + target.describe() + ": " + why;
  }

  private void read(PubSubConnection c) {
    while (!closed) {
      Object reply;
      try {
        reply = c.read();
      } catch (JedisDataException e) { // an error reply: the connection goes on
        lastHeard = System.nanoTime();
        refused(e);
        continue;
      }
      lastHeard = System.nanoTime();
      dispatch(reply);
    }
  }

  private void dispatch(Object reply) {
    if (reply instanceof byte[] status) { // +PONG: not in Pub/Sub mode (nothing subscribed)
      if (!"PONG".equals(new String(status, StandardCharsets.US_ASCII))) {
        throw new FanoutRedisException("unexpected reply from " + target.describe() + ": "
            + new String(status, StandardCharsets.UTF_8));
      }
      pong();
      return;
    }
    if (!(reply instanceof List<?> list) || list.size() < 2
        || !(list.get(0) instanceof byte[] kind) || !(list.get(1) instanceof byte[] channel)) {
      throw new FanoutRedisException("unexpected reply from " + target.describe() + ": "
          + reply);
    }
    if (Arrays.equals(kind, SMESSAGE)) { // the hot path: no string made
      message(channel, (byte[]) list.get(2));
      return;
    }
    switch (new String(kind, StandardCharsets.US_ASCII)) {
      case "ssubscribe" -> subscribed(new String(channel, StandardCharsets.UTF_8));
      case "sunsubscribe" -> unsubscribed(new String(channel, StandardCharsets.UTF_8));
      case "pong" -> pong();
      default -> throw new FanoutRedisException("unexpected reply from " + target.describe()
          + ": " + new String(kind, StandardCharsets.UTF_8));
    }
  }

  private void message(byte[] channel, byte[] message) {
    byte[] probe = probeBytes;
    if (probe != null && Arrays.equals(channel, probe)) {
      lastProbe = System.nanoTime();
      return;
    }
    int p = partitionOf(channel);
    if (p >= 0) {
      handler.onMessage(this, p, message);
    }
  }

  /** A confirmation of SSUBSCRIBE: the head of what is pending, in order. */
  private void subscribed(String channel) {
    int caughtUp = -1;
    synchronized (this) {
      Pending head = next(Protocol.Command.SSUBSCRIBE, channel);
      if (head == null) {
        throw new FanoutRedisException("unexpected ssubscribe " + channel + " from "
            + target.describe());
      }
      if (channel.equals(probeChannel)) {
        lastProbe = System.nanoTime();
        probeBytes = channel.getBytes(StandardCharsets.UTF_8);
      } else {
        int p = partitionOf(channel.getBytes(StandardCharsets.UTF_8));
        if (p >= 0 && Boolean.FALSE.equals(subscribed.get(p))) {
          subscribed.put(p, true);
          caughtUp = p;
        }
      }
    }
    if (caughtUp >= 0) {
      handler.onSubscribed(this, caughtUp);
    }
    health.up();
  }

  /** A sunsubscribe: the answer to one the node sent, or the slot moved away. */
  private void unsubscribed(String channel) {
    int lost = -1;
    synchronized (this) {
      if (next(Protocol.Command.SUNSUBSCRIBE, channel) != null) {
        return; // asked for
      }
      if (channel.equals(probeChannel)) {
        reanchorProbe(false);
        return;
      }
      int p = partitionOf(channel.getBytes(StandardCharsets.UTF_8));
      if (p >= 0 && subscribed.remove(p) != null) {
        lost = p;
      }
    }
    if (lost >= 0) {
      handler.onLost(this, lost, target.describe() + " no longer serves its slot "
          + stream.partition(lost).slot() + " (sunsubscribe)");
    }
  }

  private void pong() {
    synchronized (this) {
      Pending head = pending.peekFirst();
      if (head != null && head.command == Protocol.Command.PING) {
        pending.pollFirst();
      }
    }
    handler.onIdle(this);
    health.up();
  }

  /**
   * The pending command whose next reply is {@code channel} for {@code command}, advanced past
   * it; null when the head of what is pending is not that.
   */
  private Pending next(Protocol.Command command, String channel) {
    Pending head = pending.peekFirst();
    if (head == null || head.command != command || !channel.equals(head.channels.peekFirst())) {
      return null;
    }
    head.channels.pollFirst();
    if (head.channels.isEmpty()) {
      pending.pollFirst();
    }
    return head;
  }

  /** An error reply: the answer to the oldest pending command, which did nothing. */
  private void refused(JedisDataException e) {
    List<Integer> lost = new ArrayList<>();
    Pending head;
    synchronized (this) {
      head = pending.pollFirst();
      if (head == null) {
        throw new FanoutRedisException("unexpected error from " + target.describe() + ": "
            + e.getMessage(), e);
      }
      if (head.command != Protocol.Command.SSUBSCRIBE) {
        return; // SUNSUBSCRIBE of a slot gone (MOVED), a PING: nothing was subscribed
      }
      boolean probeRefused = false;
      for (String channel : head.channels) {
        if (channel.equals(probeChannel)) {
          probeRefused = true;
        } else {
          int p = partitionOf(channel.getBytes(StandardCharsets.UTF_8));
          if (p >= 0 && subscribed.remove(p) != null) {
            lost.add(p);
          }
        }
      }
      if (Retry.of(e) == Retry.NONE) { // not the map: an ACL, a server that cannot
        throw new FanoutRedisException(target.describe() + " refused SSUBSCRIBE " + head.channels
            + ": " + e.getMessage(), e);
      }
      if (probeRefused) {
        reanchorProbe(false);
      }
    }
    for (int p : lost) {
      handler.onLost(this, p, target.describe() + " refused it: " + e.getMessage());
    }
  }

  /** The partition whose channel is {@code channel}, or -1. Allocates nothing. */
  private int partitionOf(byte[] channel) {
    int i = indexAt;
    int p = 0;
    int digits = 0;
    while (i < channel.length && channel[i] >= '0' && channel[i] <= '9' && digits < 5) {
      p = p * 10 + (channel[i++] - '0');
      digits++;
    }
    if (digits == 0 || p >= channels.length || !Arrays.equals(channel, channels[p])) {
      return -1;
    }
    return p;
  }

  // ---- the watchdog's thread ----

  /** One watchdog tick: judge the link, ping, probe. */
  void watch() {
    try {
      if (closed || health.state() != LinkState.UP) {
        return;
      }
      long now = System.nanoTime();
      long silent = now - lastHeard;
      if (silent > liveness.deadAfter().toNanos()) {
        kill("no answer from Redis for " + silent / 1_000_000 + " ms");
        return;
      }
      byte[] probe = probeBytes;
      long noProbe = now - lastProbe;
      if (probe != null && noProbe > liveness.probeDeadAfter().toNanos()) {
        kill("own probe not received for " + noProbe / 1_000_000 + " ms");
        return;
      }
      synchronized (this) {
        if (connection != null) {
          send(Protocol.Command.PING, List.of());
        }
      }
      if (probe != null && now - lastProbeSent > liveness.probeInterval().toNanos()
          && probeInFlight.compareAndSet(false, true)) {
        lastProbeSent = now;
        String channel = new String(probe, StandardCharsets.UTF_8);
        prober.execute(() -> sendProbe(channel)); // a paused Redis blocks it, not the watchdog
      }
    } catch (RuntimeException e) {
      log.debug("watchdog tick failed: {}", e.toString());
    }
  }

  private void sendProbe(String channel) {
    try {
      target.probe(channel);
    } catch (RuntimeException e) {
      log.debug("probe to {} failed: {}", target.describe(), e.toString());
    } finally {
      probeInFlight.set(false);
    }
  }

  private void kill(String why) {
    log.warn("Redis link to {} considered dead: {}; reconnecting", target.describe(), why);
    health.down(why);
    disconnect();
  }

  private void disconnect() {
    PubSubConnection c;
    synchronized (this) {
      c = connection;
    }
    if (c != null) {
      try {
        c.disconnect();
      } catch (RuntimeException e) {
        log.debug("closing the subscriber connection failed", e);
      }
    }
  }
}
