package dev.fanout.redis;

import dev.fanout.core.EventId;
import dev.fanout.core.internal.DaemonThreads;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.Pipeline;
import redis.clients.jedis.Protocol;
import redis.clients.jedis.Response;
import redis.clients.jedis.exceptions.JedisConnectionException;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.exceptions.JedisException;
import redis.clients.jedis.util.Pool;

/**
 * Pipelined publishing: publishes queue per partition, and one thread per primary (a lane)
 * sends, for each partition that primary serves, what it queued (up to {@value #MAX_PER_CALL})
 * as one {@code fanout_publish_batch} call, all those calls in one pipeline on one connection,
 * then completes each publish's future with its id. While a pipeline is on the wire the next
 * publishes queue up and go out together in the next one, so many publishes are in flight per
 * connection and Redis, not the round trip, bounds the rate; and Redis runs the function once
 * per call, not once per publish.
 *
 * <p>Order: a partition has one queue and at most one call on the wire, and a call runs whole
 * or not at all, so a partition's publishes take their ids in the order they were submitted,
 * whichever primary serves it as the cluster changes. A call the cluster refused without running
 * it (MOVED, ASK, TRYAGAIN, CLUSTERDOWN, the function missing, a connection never made) goes back
 * to the head of its partition's queue and is tried again, within the retry budget. An event the
 * function refuses (its data is not JSON) fails alone and takes no sequence number.
 *
 * <p>A connection lost with a pipeline on the wire fails that pipeline's publishes: Redis may or
 * may not have run them, and running them again could publish an event twice.
 *
 * <p>When replicas are required ({@link Replication}), each pipeline ends with one {@code WAIT}
 * on its connection, which covers every publish the pipeline carried: a batch waits once. Its
 * publishes complete with their ids when enough replicas confirmed, else fail with {@link
 * UnconfirmedPublishException}.
 */
final class PublishPipeline implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PublishPipeline.class);
  static final int MAX_BATCH = 512;
  private static final long REFRESH_WAIT_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

  /** What the publisher lends the pipeline: the function, and how its replies read. */
  interface Calls {
    /** Loads the function on {@code node} if this publisher has not yet. */
    void ensureLoaded(Jedis jedis, Pool<Jedis> node);

    /** Loads the function on {@code node} again: it answered "Function not found". */
    void reload(Jedis jedis, Pool<Jedis> node);

    /** The exception a publish that got {@code e} fails with. */
    RuntimeException failure(JedisException e);

    /** What a publish Redis ran as {@code id} fails with when too few replicas have it. */
    RuntimeException unconfirmed(EventId id, Replication.Reached reached);
  }

  /** One publish on its way. */
  static final class Request {
    final RedisPartition partition;
    final String topic;
    final Map<String, String> attributes;
    final String data;
    final CompletableFuture<EventId> future = new CompletableFuture<>();
    final long deadline;
    long notBefore;
    long backoff = Retry.firstBackoffNanos();
    JedisException last;
    int order; // its place in the pipeline being sent

    Request(RedisPartition partition, String topic, Map<String, String> attributes, String data,
        long deadline) {
      this.partition = partition;
      this.topic = topic;
      this.attributes = attributes;
      this.data = data;
      this.deadline = deadline;
    }

    int slot() {
      return partition.slot();
    }
  }

  /**
   * Consecutive publishes of one partition sent as one {@code fanout_publish_batch} call: Redis
   * runs the function once for all of them (one fence, one HINCRBY, one TIME) and answers each.
   */
  private final class Call {
    final List<Request> requests;
    final List<String> keys = new ArrayList<>();
    final List<String> args = new ArrayList<>();

    Call(List<Request> requests) {
      this.requests = requests;
      RedisPartition p = requests.get(0).partition;
      keys.add(p.streamKey());
      keys.add(p.metaKey());
      keys.add(p.topicsKey());
      Map<String, Integer> topicNumbers = new LinkedHashMap<>();
      args.add(p.channel());
      args.add(retention);
      args.add(Integer.toString(requests.size()));
      for (Request r : requests) {
        Integer number = topicNumbers.get(r.topic);
        if (number == null) {
          number = topicNumbers.size() + 1;
          topicNumbers.put(r.topic, number);
          keys.add(p.topicKey(r.topic));
        }
        args.add(number.toString());
        args.add(r.data);
        args.add(Integer.toString(r.attributes.size()));
        r.attributes.forEach((k, v) -> {
          args.add(k);
          args.add(v);
        });
      }
    }
  }

  /** The most publishes one function call carries (a call blocks Redis for about 1 ms). */
  static final int MAX_PER_CALL = 64;
  private static final String FUNCTION = "fanout_publish_batch";

  private final Nodes nodes;
  private final Calls calls;
  private final String retention;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition changed = lock.newCondition();
  private final List<ArrayDeque<Request>> queues;
  private final boolean[] busy;
  private final Map<Pool<Jedis>, Thread> lanes = new LinkedHashMap<>();
  private final Semaphore permits;
  private final int maxInFlight;
  private final Replication replication;
  private int queued; // requests in the queues (not on the wire), under lock
  private boolean closing;
  private boolean aborted;

  PublishPipeline(Nodes nodes, int partitions, int retention, int maxInFlight,
      Replication replication, Calls calls) {
    this.nodes = nodes;
    this.replication = replication;
    this.calls = calls;
    this.retention = Integer.toString(retention);
    this.maxInFlight = maxInFlight;
    this.permits = new Semaphore(maxInFlight);
    this.queues = new ArrayList<>(partitions);
    for (int i = 0; i < partitions; i++) {
      queues.add(new ArrayDeque<>());
    }
    this.busy = new boolean[partitions];
  }

  /**
   * Queues {@code r}; waits up to {@code wait} while {@code maxInFlight} publishes are unfinished.
   * Returns its future, failed when the pipeline is full or closed.
   */
  CompletableFuture<EventId> submit(Request r, long waitNanos) {
    try {
      if (!permits.tryAcquire(waitNanos, TimeUnit.NANOSECONDS)) {
        r.future.completeExceptionally(new FanoutRedisException(maxInFlight
            + " publishes are unfinished on " + nodes.endpoint() + "; Redis is not keeping up"));
        return r.future;
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      r.future.completeExceptionally(new FanoutRedisException("interrupted while waiting to "
          + "publish", e));
      return r.future;
    }
    lock.lock();
    try {
      if (closing) {
        permits.release();
        r.future.completeExceptionally(new FanoutRedisException("the publisher is closed"));
        return r.future;
      }
      queues.get(r.partition.index()).addLast(r);
      queued++;
      ensureLane(nodes.knownPoolFor(r.slot()));
      changed.signalAll();
    } finally {
      lock.unlock();
    }
    return r.future;
  }

  /** Publishes not finished yet: queued or on the wire. */
  int unfinished() {
    return maxInFlight - permits.availablePermits();
  }

  /**
   * Stops taking publishes, sends what is queued for up to {@code drain}, then fails what is
   * left and stops the lanes.
   */
  @Override
  public void close() {
    close(TimeUnit.SECONDS.toNanos(2));
  }

  void close(long drainNanos) {
    List<Thread> threads;
    lock.lock();
    try {
      closing = true;
      changed.signalAll();
      long deadline = System.nanoTime() + drainNanos;
      while (unfinished() > 0 && deadline - System.nanoTime() > 0) {
        changed.await(Math.min(deadline - System.nanoTime(),
            TimeUnit.MILLISECONDS.toNanos(50)), TimeUnit.NANOSECONDS);
      }
      aborted = true;
      changed.signalAll();
      threads = new ArrayList<>(lanes.values());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      aborted = true;
      threads = new ArrayList<>(lanes.values());
    } finally {
      lock.unlock();
    }
    for (Thread t : threads) {
      try {
        t.join(TimeUnit.SECONDS.toMillis(3));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    List<Request> left = new ArrayList<>();
    lock.lock();
    try {
      for (ArrayDeque<Request> q : queues) {
        left.addAll(q);
        queued -= q.size();
        q.clear();
      }
    } finally {
      lock.unlock();
    }
    for (Request r : left) {
      fail(r, new FanoutRedisException("the publisher closed before this publish was sent"));
    }
  }

  /**
   * Starts the lane of {@code pool} if it has none (under lock). A null pool (a slot no primary
   * is known to serve) gets a lane too, which only learns the topology again, starts the lanes
   * it finds and fails what waited past its budget.
   */
  private void ensureLane(Pool<Jedis> pool) {
    if (lanes.containsKey(pool) || aborted) {
      return;
    }
    Thread t = DaemonThreads.start("fanout-publish-" + (lanes.size() + 1), () -> lane(pool));
    lanes.put(pool, t);
  }

  // ---- a lane ----

  private void lane(Pool<Jedis> pool) {
    long lastRefresh = System.nanoTime() - REFRESH_WAIT_NANOS;
    while (true) {
      List<Request> batch = new ArrayList<>();
      List<Request> expired = new ArrayList<>();
      boolean refresh = false;
      lock.lock();
      try {
        while (true) {
          if (aborted || (closing && queued == 0 && noneBusy())) {
            return;
          }
          long now = System.nanoTime();
          long wait = TimeUnit.SECONDS.toNanos(1);
          for (int p = 0; p < queues.size() && batch.size() < MAX_BATCH; p++) {
            ArrayDeque<Request> q = queues.get(p);
            if (busy[p] || q.isEmpty()) {
              continue;
            }
            Request head = q.peekFirst();
            Pool<Jedis> route = nodes.knownPoolFor(head.slot());
            if (route == null) { // no primary serves the slot now: wait for one, within budget
              while (!q.isEmpty() && now - q.peekFirst().deadline > 0) {
                expired.add(q.pollFirst());
                queued--;
              }
              if (now - lastRefresh > REFRESH_WAIT_NANOS) {
                refresh = true;
              }
              wait = Math.min(wait, REFRESH_WAIT_NANOS);
              continue;
            }
            if (route != pool) {
              ensureLane(route);
              continue;
            }
            if (head.notBefore - now > 0) {
              wait = Math.min(wait, head.notBefore - now);
              continue;
            }
            busy[p] = true; // one call of this partition on the wire: its order is the queue's
            for (int n = 0; n < MAX_PER_CALL && !q.isEmpty(); n++) {
              batch.add(q.pollFirst());
              queued--;
            }
          }
          if (!batch.isEmpty() || !expired.isEmpty() || refresh) {
            break;
          }
          changed.await(wait, TimeUnit.NANOSECONDS);
        }
      } catch (InterruptedException e) {
        return;
      } finally {
        lock.unlock();
      }
      for (Request r : expired) {
        fail(r, r.last != null ? calls.failure(r.last) : new FanoutRedisException("no primary "
            + "of " + nodes.endpoint() + " served slot " + r.slot() + " within the retry budget"));
      }
      if (refresh) {
        lastRefresh = System.nanoTime();
        refreshQuietly();
        signal();
      }
      if (!batch.isEmpty()) {
        send(pool, batch);
      }
    }
  }

  private boolean noneBusy() {
    for (boolean b : busy) {
      if (b) {
        return false;
      }
    }
    return true;
  }

  /** Sends one pipeline, then settles each of its publishes. */
  private void send(Pool<Jedis> pool, List<Request> batch) {
    for (int i = 0; i < batch.size(); i++) {
      batch.get(i).order = i;
    }
    List<Call> sent = calls(batch);
    List<Request> retry = new ArrayList<>();
    boolean relearn = false;
    Jedis jedis;
    try {
      jedis = pool.getResource();
    } catch (JedisConnectionException e) { // nothing was sent
      later(batch, e, retry);
      settle(batch, retry, true);
      return;
    } catch (FanoutRedisException e) { // closed
      batch.forEach(r -> fail(r, e));
      settle(batch, retry, false);
      return;
    }
    try (jedis) {
      try {
        calls.ensureLoaded(jedis, pool);
      } catch (JedisConnectionException e) { // the pipeline was not sent
        RedisEndpoint.forgetIdleAfter(e, pool);
        later(batch, e, retry);
        settle(batch, retry, true);
        return;
      }
      Pipeline pipeline = jedis.pipelined();
      List<Response<Object>> replies = new ArrayList<>(sent.size());
      for (Call call : sent) {
        replies.add(pipeline.fcall(FUNCTION, call.keys, call.args));
      }
      Replication.Reached reached = syncAndWait(jedis, pipeline);
      boolean reload = false;
      Map<HostAndPort, List<Call>> asks = new LinkedHashMap<>();
      for (int i = 0; i < sent.size(); i++) {
        Call call = sent.get(i);
        try {
          complete(call, replies.get(i).get(), reached);
        } catch (JedisDataException e) { // the call was refused whole: none of it ran
          Retry kind = Retry.of(e);
          if (notFound(e)) {
            reload = true;
            retryNow(call.requests, e, retry);
          } else if (kind == Retry.ASK && Retry.target(e) != null) {
            call.requests.forEach(r -> r.last = e);
            asks.computeIfAbsent(Retry.target(e), t -> new ArrayList<>()).add(call);
          } else if (kind == Retry.MOVED) {
            relearn = true;
            retryNow(call.requests, e, retry);
          } else if (kind == Retry.LATER) {
            relearn = true;
            later(call.requests, e, retry);
          } else {
            call.requests.forEach(r -> fail(r, calls.failure(e)));
          }
        }
      }
      if (reload) {
        calls.reload(jedis, pool);
      }
      for (Map.Entry<HostAndPort, List<Call>> ask : asks.entrySet()) {
        askOnce(ask.getKey(), ask.getValue(), retry);
      }
    } catch (JedisConnectionException e) {
      RedisEndpoint.forgetIdleAfter(e, pool);
      relearn = nodes.isCluster();
      for (Request r : batch) {
        if (!r.future.isDone() && !retry.contains(r)) {
          fail(r, calls.failure(e)); // sent, and maybe run: never twice
        }
      }
    } catch (RuntimeException e) {
      log.warn("a publish pipeline failed unexpectedly", e);
      for (Request r : batch) {
        if (!r.future.isDone() && !retry.contains(r)) {
          fail(r, new FanoutRedisException("publish failed: " + e, e));
        }
      }
    }
    settle(batch, retry, relearn);
  }

  /** The batch as calls: one per partition, its publishes in their order. */
  private List<Call> calls(List<Request> batch) {
    List<Call> out = new ArrayList<>();
    int from = 0;
    for (int i = 1; i <= batch.size(); i++) {
      if (i == batch.size() || batch.get(i).partition != batch.get(from).partition) {
        out.add(new Call(batch.subList(from, i)));
        from = i;
      }
    }
    return out;
  }

  /** Sends {@code sent} to the node a slot is moving to, each after ASKING. */
  private void askOnce(HostAndPort target, List<Call> sent, List<Request> retry) {
    Pool<Jedis> pool;
    try {
      pool = nodes.poolAt(target);
    } catch (FanoutRedisException e) {
      sent.forEach(call -> call.requests.forEach(r -> fail(r, e)));
      return;
    }
    try (Jedis jedis = pool.getResource()) {
      calls.ensureLoaded(jedis, pool);
      Pipeline pipeline = jedis.pipelined();
      List<Response<Object>> replies = new ArrayList<>();
      for (Call call : sent) {
        pipeline.sendCommand(Protocol.Command.ASKING, new String[0]);
        replies.add(pipeline.fcall(FUNCTION, call.keys, call.args));
      }
      Replication.Reached reached = syncAndWait(jedis, pipeline);
      for (int i = 0; i < sent.size(); i++) {
        Call call = sent.get(i);
        try {
          complete(call, replies.get(i).get(), reached);
        } catch (JedisDataException e) {
          if (notFound(e) || Retry.of(e) != Retry.NONE) {
            later(call.requests, e, retry);
          } else {
            call.requests.forEach(r -> fail(r, calls.failure(e)));
          }
        }
      }
    } catch (JedisConnectionException e) {
      RedisEndpoint.forgetIdleAfter(e, pool);
      for (Call call : sent) {
        for (Request r : call.requests) {
          if (!r.future.isDone()) {
            fail(r, calls.failure(e));
          }
        }
      }
    }
  }

  /** Back to the queues: what is retried, in its partition's order, and the partitions freed. */
  private void settle(List<Request> batch, List<Request> retry, boolean relearn) {
    if (relearn) {
      refreshQuietly();
    }
    retry.sort(Comparator.comparingInt(r -> r.order));
    List<Request> expired = new ArrayList<>();
    lock.lock();
    try {
      long now = System.nanoTime();
      for (int i = retry.size() - 1; i >= 0; i--) {
        Request r = retry.get(i);
        if (now - r.deadline > 0 || aborted) {
          expired.add(r);
        } else {
          queues.get(r.partition.index()).addFirst(r);
          queued++;
        }
      }
      for (Request r : batch) {
        busy[r.partition.index()] = false;
      }
      for (Request r : retry) {
        ensureLane(nodes.knownPoolFor(r.slot()));
      }
      changed.signalAll();
    } finally {
      lock.unlock();
    }
    for (Request r : expired) {
      fail(r, calls.failure(r.last));
    }
  }

  private static void retryNow(List<Request> requests, JedisException e, List<Request> retry) {
    for (Request r : requests) {
      r.last = e;
      r.notBefore = 0;
      retry.add(r);
    }
  }

  private static void later(List<Request> requests, JedisException e, List<Request> retry) {
    long now = System.nanoTime();
    for (Request r : requests) {
      r.last = e;
      r.notBefore = now + r.backoff;
      r.backoff = Math.min(r.backoff * 2, TimeUnit.MILLISECONDS.toNanos(200));
      retry.add(r);
    }
  }

  /**
   * Sends the pipeline, ended by one {@code WAIT} when replicas are required (it covers every
   * write before it on this connection), and reads every reply. Returns what the {@code WAIT}
   * answered, or null when none was sent.
   */
  private Replication.Reached syncAndWait(Jedis jedis, Pipeline pipeline) {
    if (!replication.required()) {
      pipeline.sync();
      return null;
    }
    Response<Long> waited = pipeline.waitReplicas(replication.replicas(),
        replication.timeoutMillis());
    int before = replication.extend(jedis);
    pipeline.sync(); // a connection lost here fails the pipeline's publishes as unknown
    Replication.restore(jedis, before);
    try {
      return new Replication.Reached(waited.get(), null);
    } catch (JedisDataException e) { // WAIT refused (an ACL without +wait): no count
      return new Replication.Reached(-1, e);
    }
  }

  /**
   * Settles each publish of {@code call} with its answer: an id, or why it was refused; an id
   * too few replicas confirmed ({@code reached}, null when none were required) fails unconfirmed.
   */
  private void complete(Call call, Object reply, Replication.Reached reached) {
    if (!(reply instanceof List<?> answers) || answers.size() != call.requests.size()) {
      FanoutRedisException e = new FanoutRedisException("the publish function answered "
          + reply + ", not one answer per event");
      call.requests.forEach(r -> fail(r, e));
      return;
    }
    for (int i = 0; i < answers.size(); i++) {
      Request r = call.requests.get(i);
      Object answer = answers.get(i);
      String text = answer instanceof byte[] b ? new String(b, StandardCharsets.UTF_8)
          : String.valueOf(answer);
      if (text.startsWith("!")) {
        fail(r, new IllegalArgumentException(text.substring(1)));
        continue;
      }
      EventId id;
      try {
        id = r.partition.eventId(EventId.parse(text));
      } catch (IllegalArgumentException e) {
        fail(r, new FanoutRedisException("the publish function answered " + text
            + ", which is no event id"));
        continue;
      }
      if (reached != null && reached.replicas() < replication.replicas()) {
        fail(r, calls.unconfirmed(id, reached));
      } else if (!r.future.isDone()) {
        permits.release();
        r.future.complete(id);
      }
    }
  }

  private void fail(Request r, RuntimeException e) {
    if (!r.future.isDone()) {
      permits.release();
      r.future.completeExceptionally(e);
    }
  }

  private void refreshQuietly() {
    try {
      nodes.refresh();
    } catch (RuntimeException e) {
      log.debug("reading the cluster's topology failed: {}", e.toString());
    }
  }

  private void signal() {
    lock.lock();
    try {
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  static boolean notFound(JedisDataException e) {
    return e.getMessage() != null && e.getMessage().contains("Function not found");
  }
}
