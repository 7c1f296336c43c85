package dev.fanout.core;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The hub's side of one client connection: its scope, its current subscription and its outbox.
 * Obtained from {@link Hub#connect}. Thread-safe.
 *
 * <p>Lifecycle: open until {@link #close} (the server closes it), {@link #transportClosed} (the
 * socket went away), a failed send, or a {@link Backpressure#disconnect()} policy. Once closed it
 * receives nothing and is gone from the hub.
 *
 * <p>Answers in order: the answers to a client's messages ({@code subscribed} for a subscribe,
 * {@code error} for a refused one) reach the client in the order the messages were given to this
 * connection, whatever the history threads do. Each is given only after every earlier one
 * (one lane per connection), and the outbox never lets a control frame overtake an answer
 * queued before it.
 */
public final class Connection {
  private static final Logger log = LoggerFactory.getLogger(Connection.class);

  private final ConnectionHost host;
  private final long id;
  private final Scope scope;
  private final Transport transport;
  private final Outbox outbox;
  private final AtomicBoolean open = new AtomicBoolean(true);
  /** The bus reported lost events since the last catch-up began: a resync is due. */
  private final AtomicBoolean resyncDue = new AtomicBoolean();
  private final AtomicLong replayed = new AtomicLong();
  private final Object laneLock = new Object();
  /**
   * The last answer asked for (a subscribe, a resync, an error): the next one starts once it is
   * given, so catch-ups never overlap and answers keep the order of the messages. Guarded by
   * laneLock.
   */
  private CompletableFuture<?> lane = CompletableFuture.completedFuture(null);
  private volatile Subscription subscription; // restricted to scope, filter guarded; null = none

  Connection(ConnectionHost host, long id, Scope scope, Transport transport,
      Backpressure policy, OutboxSettings settings) {
    this.host = host;
    this.id = id;
    this.scope = scope;
    this.transport = transport;
    this.outbox = new Outbox(new Outbox.Owner() {
      @Override
      public void sendFailed(Throwable failure) {
        log.debug("connection {}: send failed, closing", id, failure);
        close(1011, "send failed");
      }

      @Override
      public void closedByPolicy(int code, String reason) {
        close(code, reason);
      }
    }, transport, policy, settings, host.metrics());
  }

  /** Subscribes afresh: a snapshot of the latest matching events, then live events. */
  public void subscribe(Subscription subscription) {
    subscribe(subscription, null);
  }

  /**
   * Replaces this connection's subscription and sends, in order: a {@code subscribed} frame, the
   * events from history, then live events, without duplicates or gaps between them. Waits for
   * the history read; {@link #subscribeAsync} does not.
   *
   * <p>With {@code lastEventId}, history is asked for exactly the events after it; if it can
   * answer, the client gets them ({@code recovered:true}, {@code missed} = how many), otherwise
   * {@code recovered:false} and a fresh snapshot. Without it, the client gets a snapshot and
   * {@code recovered:false}. The subscription is intersected with the connection's scope first,
   * on every path.
   *
   * @return whether a resume was asked for and recovered exactly
   */
  public boolean subscribe(Subscription subscription, EventId lastEventId) {
    return subscribeAsync(subscription, lastEventId).join();
  }

  /**
   * {@link #subscribe(Subscription, EventId)} from a position in every partition the client
   * follows (its {@code lastEventId} on the wire; null: a snapshot): recovered only when history
   * answers exactly in all of them. Waits, as {@link #resumeAsync} does not.
   */
  public boolean resume(Subscription subscription, Cursor lastEventId) {
    return resumeAsync(subscription, lastEventId).join();
  }

  /**
   * {@link #subscribe(Subscription, EventId)} without waiting: the subscribe runs on the hub's
   * history threads, never the caller's, so a transport's threads never wait on the store. A
   * connection's subscribes run one after the other, in the order they were asked, each answered
   * with its own {@code subscribed}, whose {@code replay} is exactly the number of history events
   * that follow it: one that a later subscribe or resync replaces before its {@code subscribed}
   * is sent says it replays nothing ({@code recovered:false}, no position), and the later answer
   * follows. Under a burst they queue; one that waited longer than the hub's history deadline
   * closes the connection with 1013 "history busy, try again" (clients retry with backoff)
   * instead of reading.
   *
   * <p>With partitions (a bus on Redis Cluster), {@code lastEventId} holds the client's last id in
   * each partition it follows, and the answer is exact in all of them or recovered in none. The
   * subscribe first waits until the bus receives every partition the subscription follows
   * ({@link Bus#need}), within the history deadline, else closes the connection with 1013.
   *
   * @return completes with whether a resume was asked for and recovered exactly, once the
   *     answer is queued to the client
   */
  public CompletableFuture<Boolean> subscribeAsync(Subscription subscription,
      EventId lastEventId) {
    return resumeAsync(subscription, lastEventId == null ? null : Cursor.of(lastEventId));
  }

  /**
   * {@link #subscribeAsync(Subscription, EventId)} from a position in every partition the client
   * follows (its {@code lastEventId} on the wire; null: a snapshot): recovered only when history
   * answers exactly in all of them.
   */
  public CompletableFuture<Boolean> resumeAsync(Subscription subscription, Cursor lastEventId) {
    Subscription effective = effective(subscription);
    long queued = host.clock().nanoTime();
    CompletableFuture<Boolean> done = new CompletableFuture<>();
    afterEarlierAnswers(done, () -> host.readHistory(() -> {
      if (host.clock().nanoTime() - queued > host.historyDeadlineNanos() && open.get()) {
        log.warn("connection {}: its subscribe waited past the history deadline; closing "
            + "with 1013", id);
        close(1013, "history busy, try again");
      }
      try {
        done.complete(subscribeNow(effective, lastEventId));
      } catch (RuntimeException failure) {
        done.completeExceptionally(failure);
      }
    }, () -> done.complete(false)));
    return done;
  }

  /**
   * Tells the client a message of its was refused: an {@code error} frame (protocol.md) with
   * {@code code} (such as {@code bad_request}) and {@code message}. It goes after the answers to
   * every earlier message (the {@code subscribed} of a subscribe still reading history comes
   * first), ahead of queued events, and is never dropped by backpressure; the connection stays
   * open.
   */
  public void sendError(String code, String message) {
    String frame = Frames.error(code, message);
    CompletableFuture<Void> done = new CompletableFuture<>();
    afterEarlierAnswers(done, () -> {
      outbox.offerControl(frame);
      done.complete(null);
    });
  }

  /**
   * Runs {@code start} once every answer asked for before has been given (at once, on this
   * thread, when none is pending); {@code start} must complete {@code done} when its answer is
   * given, however it ends.
   */
  private void afterEarlierAnswers(CompletableFuture<?> done, Runnable start) {
    CompletableFuture<?> previous;
    synchronized (laneLock) {
      previous = lane;
      lane = done;
    }
    previous.whenComplete((r, e) -> {
      try {
        start.run();
      } catch (RuntimeException failure) {
        log.warn("connection {}: an answer failed", id, failure);
        done.completeExceptionally(failure);
      }
    });
  }

  /** {@code requested} within this connection's scope, its consumer filter guarded. */
  private Subscription effective(Subscription requested) {
    Objects.requireNonNull(requested, "subscription");
    Subscription s = requested.restrictTo(scope);
    return s.filter() == null ? s
        : s.withFilter(new GuardedFilter(s.filter(), host.metrics()));
  }

  private boolean subscribeNow(Subscription effective, Cursor lastEventId) {
    if (!open.get()) {
      return false;
    }
    resyncDue.set(false); // this answer reads history after any loss reported until now
    // Hold first, then index: every live event from here on queues behind the history we read.
    outbox.hold();
    Subscription previous = this.subscription;
    this.subscription = effective;
    host.index(this, previous, effective);
    if (!open.get()) { // closed meanwhile: markClosed may have unindexed the previous one only
      host.remove(this, effective);
      return false;
    }
    return catchUp(effective, lastEventId);
  }

  /**
   * On the bus's thread when it reports lost events: stops sending live events at once (cheap,
   * and never waits on a catch-up in progress), then, after the answers asked for before, reads
   * history again on the hub's threads ({@link #finishResync}).
   *
   * @return whether a resync is due (false when closed, or neither subscribed nor subscribing)
   */
  boolean resync() {
    boolean answering;
    synchronized (laneLock) {
      answering = !lane.isDone();
    }
    if (!open.get() || subscription == null && !answering) {
      return false;
    }
    outbox.hold();
    resyncDue.set(true);
    CompletableFuture<Void> done = new CompletableFuture<>();
    afterEarlierAnswers(done, () -> host.readForResync(() -> {
      try {
        finishResync();
      } finally {
        done.complete(null);
      }
    }, () -> done.complete(null)));
    return true;
  }

  /**
   * Re-runs the current subscription as a resume from the last event the client will have been
   * sent: it gets exactly what it missed if history has it, else {@code recovered:false} and a
   * fresh snapshot. Skipped when a subscribe began since the loss was reported (its answer is
   * read after it).
   */
  private void finishResync() {
    Subscription current = subscription;
    if (!resyncDue.getAndSet(false) || !open.get() || current == null) {
      return;
    }
    Cursor from = outbox.hold(); // still held since resync(), unless a subscribe answered since
    catchUp(current, from);
  }

  /**
   * Reads history for {@code effective} (the connection is held and indexed) and hands the
   * answer to the outbox: the {@link CatchUp} rule.
   */
  private boolean catchUp(Subscription effective, Cursor resumeFrom) {
    // The bus receives every partition the connection follows before its position is read: from
    // then on nothing falls between the history read below and what arrives live.
    if (!host.awaitPartitions()) {
      log.warn("connection {}: the bus did not receive its partitions in time; closing with "
          + "1013 so it retries", id);
      close(1013, "bus busy, try again");
      return false;
    }
    // Read after the connection is indexed: every event after this position reaches it live,
    // every event up to it is in the history read below. A client that receives nothing newer
    // resumes from here, so even a quiet subscription loses nothing across a reconnect.
    Cursor position = host.position(effective);
    CatchUp.Read read;
    try {
      read = read(effective, resumeFrom, position);
    } catch (RuntimeException e) {
      // Not "recovered:false": the events may well be there once history answers again. The
      // client reconnects with backoff and resumes then, losing nothing.
      log.warn("connection {}: history unavailable ({}{}); closing with 1013 so it retries", id,
          e, e.getCause() == null ? "" : ", caused by " + e.getCause());
      close(1013, "history unavailable, try again");
      return false;
    }
    CatchUp.Answer answer = CatchUp.answer(read);
    answer.invalid().forEach(host::rejectInvalid); // in history from an old publisher
    List<Outbox.Entry> replay = new ArrayList<>(answer.replay().size());
    long now = host.clock().nanoTime();
    for (Event e : answer.replay()) {
      replay.add(new Outbox.Entry(e, Frames.event(e), now));
    }
    replayed.addAndGet(replay.size());
    outbox.release(answer, replay, effective);
    if (!host.busUp()) { // right after 'subscribed': what follows may come late
      outbox.offerControl(Frames.bus(false));
    }
    return answer.recovered();
  }

  private CatchUp.Read read(Subscription effective, Cursor resumeFrom, Cursor position) {
    History history = host.history();
    if (resumeFrom != null) {
      Recovery recovery = history.since(resumeFrom, effective);
      host.metrics().resumed(recovery.recovered());
      log.debug("connection {}: resume after {}: {}", id, resumeFrom, recovery);
      if (recovery.recovered()) {
        return new CatchUp.Read(resumeFrom, true, recovery.events(), position);
      }
    }
    return new CatchUp.Read(resumeFrom, false,
        history.latest(host.snapshotSize(), effective), position);
  }

  /** Tells the client its node's bus went down or came back: a {@code bus} frame. */
  void sendBusState(boolean up) {
    outbox.offerControl(Frames.bus(up));
  }

  /** Closes the socket with {@code code} and {@code reason} and removes this connection. */
  public void close(int code, String reason) {
    if (markClosed()) {
      try {
        transport.close(code, reason);
      } catch (RuntimeException e) {
        log.debug("connection {}: transport close failed", id, e);
      }
    }
  }

  /** Tells the hub the socket is gone (closed by the client or the network). */
  public void transportClosed() {
    markClosed();
  }

  private boolean markClosed() {
    if (!open.compareAndSet(true, false)) {
      return false;
    }
    outbox.close();
    host.remove(this, subscription);
    return true;
  }

  /** The hub routes into it directly. */
  Outbox outbox() {
    return outbox;
  }

  /** The subscription in force, already restricted to the scope; null before the first. */
  public Subscription subscription() {
    return subscription;
  }

  public Scope scope() {
    return scope;
  }

  /** A number unique within the hub, for logs. */
  public long id() {
    return id;
  }

  public boolean isOpen() {
    return open.get();
  }

  /**
   * How long the frame being written has waited for the transport at {@code nowNanos} (0 when
   * nothing is being written): a client that stopped reading leaves it waiting, for as long as
   * it does not read. A transport's heartbeat can close such a connection without writing to it.
   */
  public long sendWaitingNanos(long nowNanos) {
    return outbox.sendWaitingNanos(nowNanos);
  }

  /** Events queued and not yet sent. */
  public int queueSize() {
    return outbox.size();
  }

  /**
   * Events sent from history (snapshots and replays of missed events) over this connection's
   * life: what its subscribes cost, for a transport that budgets them.
   */
  public long replayedEvents() {
    return replayed.get();
  }

  /** Events dropped by backpressure over this connection's life. */
  public long droppedTotal() {
    return outbox.droppedTotal();
  }

  @Override
  public String toString() {
    return "Connection{" + id + ", " + scope + ", " + subscription + ", " + outbox + "}";
  }
}
