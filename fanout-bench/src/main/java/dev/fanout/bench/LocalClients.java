package dev.fanout.bench;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.Histogram;

/** Clients {@code from} (inclusive) to {@code to} (exclusive) of a run, in this process. */
final class LocalClients implements Clients {
  private final URI url;
  private final int from;
  private final int to;
  private final int merchants;
  private final double ops;
  private final int ioThreads;
  private final Tally tally = new Tally();
  private final List<LeanClient> all = new ArrayList<>();
  private final Histogram latencySoFar = new Histogram(3);
  private final LongAdder retries = new LongAdder();

  private final List<LeanSockets> io = new ArrayList<>();
  private final LongAdder churnConnections = new LongAdder();
  private final LongAdder churnRecovered = new LongAdder();
  private final LongAdder churnNotRecovered = new LongAdder();
  private final java.util.concurrent.atomic.AtomicLong churnPending =
      new java.util.concurrent.atomic.AtomicLong();
  private ScheduledExecutorService churner;
  private int nextChurned;
  private final Mode mode;

  LocalClients(URI url, int from, int to, int merchants, double ops, int ioThreads,
      Mode mode) {
    this.mode = mode;
    this.url = url;
    this.from = from;
    this.to = to;
    this.merchants = merchants;
    this.ops = ops;
    this.ioThreads = ioThreads;
  }

  @Override
  public long connect() throws Exception {
    for (int i = 0; i < ioThreads; i++) {
      io.add(new LeanSockets("load-io-" + i));
    }
    Semaphore inFlight = new Semaphore(200);
    long t0 = System.nanoTime();
    List<CompletableFuture<Boolean>> subscribed = new ArrayList<>();
    for (int i = from; i < to; i++) {
      String merchant = Clients.merchantOf(i, merchants, ops);
      LeanSockets thread = io.get(i % ioThreads);
      LeanClient c = mode.transport() == Transport.SSE
          ? new SseClient(thread, url, merchant, tally)
          : new LoadClient(thread, url, merchant, tally, mode.plain());
      if (mode.reconnect()) {
        // as a page does: a connection the server closes (1013 outbox full, say) comes back and
        // resumes, after the first backoff step
        c.onLost = () -> retryLater(c, new CompletableFuture<>(), 0);
      }
      all.add(c);
      inFlight.acquire();
      CompletableFuture<Boolean> done = new CompletableFuture<>();
      done.whenComplete((r, e) -> inFlight.release());
      // a refusal (1013 while the server is busy, say) is retried with backoff, as a page would
      connectUntilSubscribed(c, done, 0);
      subscribed.add(done);
    }
    CompletableFuture.allOf(subscribed.toArray(new CompletableFuture[0]))
        .get(300, TimeUnit.SECONDS);
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
  }

  @Override
  public void window(long startMicros, long endMicros) {
    tally.windowStartMicros = startMicros;
    tally.windowEndMicros = endMicros;
  }

  @Override
  public StormResult storm(int jitterMs) throws Exception {
    // A client with neither an event nor a position has nothing to resume from.
    long noResumePoint = all.stream().filter(c -> c.resumeFrom() == null).count();
    long t0 = System.nanoTime();
    all.forEach(LeanClient::drop);
    Random random = new Random(2 + from);
    List<CompletableFuture<Boolean>> back = new ArrayList<>();
    ScheduledExecutorService timer = Executors.newScheduledThreadPool(2);
    try {
      for (LeanClient c : all) {
        CompletableFuture<Boolean> done = new CompletableFuture<>();
        back.add(done);
        timer.schedule(() -> connectUntilSubscribed(c, done, 0),
            random.nextInt(Math.max(1, jitterMs)),
            TimeUnit.MILLISECONDS);
      }
      CompletableFuture.allOf(back.toArray(new CompletableFuture[0])).get(300, TimeUnit.SECONDS);
    } finally {
      timer.shutdownNow();
    }
    long allBackMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    long recovered = back.stream().filter(CompletableFuture::join).count();
    return new StormResult(allBackMs, recovered, noResumePoint);
  }

  /** Connects with exponential backoff and jitter until subscribed; completes with recovered. */
  private void connectUntilSubscribed(LeanClient c, CompletableFuture<Boolean> done, int attempt) {
    if (attempt > 0) {
      retries.increment();
    }
    c.connect().thenCompose(opened -> c.subscribed).whenComplete((recovered, e) -> {
      if (e == null) {
        done.complete(recovered);
      } else {
        retryLater(c, done, attempt);
      }
    });
  }

  /** Attempt {@code attempt + 1} after an equal-jitter backoff: 100–200 ms doubling to 2.5–5 s. */
  private void retryLater(LeanClient c, CompletableFuture<Boolean> done, int attempt) {
    long delay = Math.min(5000, 200L << Math.min(attempt, 5));
    CompletableFuture.delayedExecutor(delay / 2 + new Random().nextInt((int) delay / 2 + 1),
        TimeUnit.MILLISECONDS).execute(() -> connectUntilSubscribed(c, done, attempt + 1));
  }

  @Override
  public synchronized void churn(double perSecond) {
    if (churner != null) {
      churner.shutdownNow();
      churner = null;
    }
    if (perSecond <= 0 || all.isEmpty()) {
      return;
    }
    churner = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "load-churn");
      t.setDaemon(true);
      return t;
    });
    churner.scheduleAtFixedRate(this::churnOne, 0, Math.max(1, (long) (1e6 / perSecond)),
        TimeUnit.MICROSECONDS);
  }

  /** The next client that is subscribed leaves and comes back, resuming. */
  private void churnOne() {
    for (int tries = 0; tries < all.size(); tries++) {
      LeanClient c = all.get(nextChurned++ % all.size());
      CompletableFuture<Boolean> s = c.subscribed;
      if (!s.isDone() || s.isCompletedExceptionally()) {
        continue; // on its way back already
      }
      churnPending.incrementAndGet();
      c.drop(); // runs on the client's io thread before the connect below
      CompletableFuture<Boolean> done = new CompletableFuture<>();
      done.whenComplete((recovered, e) -> {
        churnPending.decrementAndGet();
        churnConnections.increment();
        if (Boolean.TRUE.equals(recovered)) {
          churnRecovered.increment();
        } else {
          churnNotRecovered.increment();
        }
      });
      connectUntilSubscribed(c, done, 0);
      return;
    }
  }

  @Override
  public Churned churned() {
    return new Churned(churnConnections.sum(), churnRecovered.sum(), churnNotRecovered.sum(),
        churnPending.get());
  }

  @Override
  public Seen seen() {
    Map<Integer, Long> closes = new TreeMap<>();
    tally.closes.forEach((code, n) -> closes.put(code, (long) n.get()));
    latencySoFar.add(tally.latency.getIntervalHistogram());
    return new Seen(tally.received.sum(), tally.duplicates.sum(), tally.orderViolations.sum(),
        retries.sum(), closes, latencySoFar.copy());
  }

  @Override
  public void close() {
    churn(0);
    all.forEach(LeanClient::drop);
    io.forEach(LeanSockets::close);
  }
}
