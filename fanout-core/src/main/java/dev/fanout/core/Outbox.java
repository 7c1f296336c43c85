package dev.fanout.core;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One connection's bounded queue with at most one send in flight.
 *
 * <p>Events wait here until the transport reports the previous send complete; whatever is
 * waiting then goes out together (one {@code batch} frame, or the events' own frames in one
 * write where the transport can: {@link Transport#sendAll}), so batching by itself adds no delay;
 * only a hot connection's send may wait up to the hub's batch linger. The hard cap on live events
 * hands over to the {@link Backpressure} policy; the soft watermarks only feed metrics.
 *
 * <p>Three queues, sent in this order of precedence:
 *
 * <ol>
 *   <li><b>Control</b> frames ({@code error}, {@code bus}): ahead of queued events, never dropped,
 *       but never ahead of an answer queued before them, so a client's answers arrive in the order
 *       of its messages.
 *   <li><b>Answers</b>: each {@code subscribed} frame, alone, followed by exactly the history
 *       events it promises ({@code replay}); never dropped, not counted against the cap (a resume
 *       may replay more than it). Once a {@code subscribed} frame is sent its replay follows in
 *       full; one that a later catch-up finds still unsent is superseded: it goes out saying it
 *       replays nothing, and nothing of it follows.
 *   <li><b>Live</b> events, capped, behind the answers.
 * </ol>
 *
 * <p>While {@linkplain #hold() held} (during a catch-up), live events queue but are not sent, so
 * the history read meanwhile can be put in front of them and duplicates removed ({@link
 * #release}, with {@link CatchUp}); earlier answers keep going out.
 */
final class Outbox {
  private static final Logger log = LoggerFactory.getLogger(Outbox.class);

  /** Whom the outbox tells when it gives up on its connection. */
  interface Owner {
    /** The transport reported a failed send; nothing more is sent. */
    void sendFailed(Throwable failure);

    /** The backpressure policy asked to close the connection; the outbox is closed already. */
    void closedByPolicy(int code, String reason);
  }

  /** What {@link #offer} asks of its caller. */
  enum Pump {
    /** Nothing: the pump is running or the event was not queued. */
    NONE,
    /** Run {@link #runClaimedPump()} on the send executor now. */
    NOW,
    /** Run {@link #runClaimedPump()} on the send executor after the batch linger. */
    AFTER_LINGER
  }

  /**
   * One queued event with its frame (encoded once, shared by every recipient) and when it
   * reached the hub (or was read from history).
   */
  record Entry(Event event, String frame, long receivedNanos) {}

  /** What a superseded answer says: nothing replayed, no position (see the class comment). */
  private static final String SUPERSEDED = Frames.subscribed(false, 0, 0, null);

  /** A {@code subscribed} frame and the history events it promises. Guarded by the outbox. */
  private static final class Answer {
    String frame;
    final ArrayDeque<Entry> replay;
    final int dropsAfter; // live events dropped while held: told right after this answer
    PartitionIds covers; // where the client's view stands once its replay is processed
    boolean sent;

    Answer(String frame, List<Entry> replay, int dropsAfter, PartitionIds covers) {
      this.frame = frame;
      this.replay = new ArrayDeque<>(replay);
      this.dropsAfter = dropsAfter;
      this.covers = covers;
    }
  }

  /** A control frame, to be sent once {@code afterAnswers} answers have been. */
  private record Control(String frame, long afterAnswers) {}

  private final Owner owner;
  private final Transport transport;
  private final Backpressure policy;
  private final OutboxSettings settings;
  private final FanoutMetrics metrics;
  private final OverflowContext overflow = new OverflowContext();

  // All guarded by this.
  private final ArrayDeque<Entry> events = new ArrayDeque<>(); // live; while held: since the hold
  private final ArrayDeque<Answer> answers = new ArrayDeque<>(); // only the head may be sent
  private final ArrayDeque<Control> control = new ArrayDeque<>();
  private final List<Entry> sending = new ArrayList<>();
  private final List<String> next = new ArrayList<>(); // the pump's next send: its frames
  private final Transport.SendCallback sent = this::onSent;
  private boolean inFlight;
  private long inFlightSince; // nanoTime the send in flight started
  private boolean pumping;
  private boolean pumpScheduled;
  private boolean held;
  private boolean closed;
  private boolean aboveHigh;
  private boolean policyFailureLogged;
  private long answersQueued;
  private long answersSent;
  private int unreportedDrops;
  private int heldDrops; // live events dropped while held: told after the answer that ends it
  private long droppedTotal;
  private long lastOfferNanos = Long.MIN_VALUE / 2;
  private PartitionIds lastAccepted = new PartitionIds();
  /**
   * Per partition, the newest event handed to the transport; on a partitioned stream, from what
   * the latest answer sent covers (its replay, and the position the client adopts after it), so
   * a resync never resumes a partition the client has a position in from that partition's start.
   * One partition: the events sent only, as always.
   */
  private PartitionIds lastSent = new PartitionIds();

  Outbox(Owner owner, Transport transport, Backpressure policy, OutboxSettings settings,
      FanoutMetrics metrics) {
    this.owner = owner;
    this.transport = transport;
    this.policy = policy;
    this.settings = settings;
    this.metrics = metrics;
  }

  /**
   * Queues a live event unless it is a duplicate or older than what was already accepted.
   *
   * <p>Without a send executor the send starts here and this returns {@link #Pump.NONE}. With
   * one, this returns {@link #Pump.NOW} or {@link #Pump.AFTER_LINGER} when this call claimed
   * the pump: the caller must then run {@link #runClaimedPump()} on the send executor, at once or
   * after the linger (the hub hands one task many outboxes, so a publish costs a few tasks, not
   * one per recipient). The linger applies to a hot connection, one whose previous event came
   * less than a linger ago: its events then go out as a batch frame at most every linger, fewer
   * and larger writes for the same deliveries, while a connection that hears an event now and
   * then still gets it at once.
   */
  Pump offer(Event event, String frame, long receivedNanos) {
    boolean hot;
    int disconnectCode = 0;
    String disconnectReason = null;
    synchronized (this) {
      if (closed) {
        return Pump.NONE;
      }
      EventId id = event.id();
      if (!lastAccepted.admits(id)) {
        return Pump.NONE;
      }
      lastAccepted.put(id);
      hot = receivedNanos - lastOfferNanos < settings.lingerNanos();
      lastOfferNanos = receivedNanos;
      Entry entry = new Entry(event, frame, receivedNanos);
      // History queued by answers is not counted: a client catching up is not thrown out by its
      // own backlog, and the cap bounds what arrives on top of it.
      if (events.size() < settings.capacity()) {
        events.addLast(entry);
      } else {
        overflow.begin(entry);
        try {
          policy.onOverflow(overflow);
        } catch (RuntimeException e) {
          if (!policyFailureLogged) {
            policyFailureLogged = true;
            log.warn("backpressure policy {} threw; dropping the incoming event "
                + "(logged once per connection)", policy, e);
          }
          overflow.dropIncoming();
        }
        if (overflow.disconnectCode != 0) {
          disconnectCode = overflow.disconnectCode;
          disconnectReason = overflow.disconnectReason;
          overflow.dropped += events.size() + 1;
          closeLocked();
        } else {
          if (!overflow.incomingDropped && events.size() >= settings.capacity()) {
            overflow.dropIncoming();
          }
          if (!overflow.incomingDropped) {
            events.addLast(entry);
          }
        }
        int dropped = overflow.end();
        if (held) {
          heldDrops += dropped;
        } else {
          unreportedDrops += dropped;
        }
        droppedTotal += dropped;
        if (dropped > 0) {
          metrics.eventsDropped(policy.name(), dropped);
        }
      }
      if (!aboveHigh && events.size() >= settings.highWatermark()) {
        aboveHigh = true;
        metrics.outboxWatermark(true);
      }
    }
    if (disconnectCode != 0) {
      owner.closedByPolicy(disconnectCode, disconnectReason);
      return Pump.NONE;
    }
    if (settings.sendExecutor() == null) {
      pump();
      return Pump.NONE;
    }
    return claimPump() ? (hot ? Pump.AFTER_LINGER : Pump.NOW) : Pump.NONE;
  }

  /**
   * Claims the pump for the send executor, so the publishing thread only queues. While the
   * executor is busy, events keep queueing and go out together as one batch frame: under load,
   * one write carries many deliveries. False when a pump is already due or a send in flight
   * (its completion pumps).
   */
  private synchronized boolean claimPump() {
    if (pumpScheduled || pumping || inFlight || closed) {
      return false;
    }
    pumpScheduled = true;
    return true;
  }

  /** Runs the pump an {@link #offer} claimed; on the send executor, or inline if it refused. */
  void runClaimedPump() {
    synchronized (this) {
      pumpScheduled = false;
    }
    pump();
  }

  /**
   * Queues a control frame ({@code error}, {@code bus}): ahead of queued events, behind the
   * answers queued before it; never dropped.
   */
  void offerControl(String frame) {
    synchronized (this) {
      if (closed) {
        return;
      }
      control.addLast(new Control(frame, answersQueued));
    }
    pump();
  }

  /**
   * Starts a catch-up: stops sending live events and forgets those queued for the previous
   * subscription (the answer to come supersedes them, and a resync reads them back from
   * history); answers not yet sent are superseded. Earlier answers keep going out. Holding a held
   * outbox changes nothing: what queued since the hold stays, for the release to merge.
   *
   * @return per partition, the newest event the client will have been sent before the next
   *     answer: where its view ends, the resume point of a resync; null when it was sent none
   */
  synchronized Cursor hold() {
    if (!held) {
      held = true;
      events.clear();
      unreportedDrops = 0;
      heldDrops = 0;
      lastAccepted = new PartitionIds();
      for (Answer a : answers) {
        if (!a.sent) {
          a.frame = SUPERSEDED;
          a.replay.clear();
          a.covers = new PartitionIds(); // it says nothing: the client keeps no view from it
        }
      }
      if (aboveHigh) {
        aboveHigh = false;
        metrics.outboxWatermark(false);
      }
    }
    Answer head = answers.peekFirst();
    if (head == null || !head.sent || head.replay.isEmpty()) {
      return lastSent.cursor();
    }
    PartitionIds view = lastSent.copy(); // and the rest of the replay under way
    for (Entry e : head.replay) {
      view.advance(e.event().id());
    }
    return view.cursor();
  }

  /**
   * Ends a {@link #hold()} with the answer of a catch-up: its {@code subscribed} frame, then
   * {@code replay} (the answer's replay, encoded), then the live events that queued meanwhile
   * and that {@link CatchUp#merge} keeps for {@code subscription}.
   */
  void release(CatchUp.Answer answer, List<Entry> replay, Subscription subscription) {
    synchronized (this) {
      if (closed) {
        return;
      }
      CatchUp.Merged<Entry> merged =
          CatchUp.merge(answer, events, Entry::event, subscription::matches);
      events.clear();
      events.addAll(merged.live());
      String frame = Frames.subscribed(answer.recovered(), answer.missed(), replay.size(),
          answer.position());
      answers.addLast(new Answer(frame, replay, heldDrops, answer.floor()));
      answersQueued++;
      heldDrops = 0;
      lastAccepted = merged.lastAccepted();
      held = false;
      if (!aboveHigh && events.size() >= settings.highWatermark()) {
        aboveHigh = true;
        metrics.outboxWatermark(true);
      }
    }
    pump();
  }

  /** How long the send in flight has waited for the transport at {@code now}; 0 when none. */
  synchronized long sendWaitingNanos(long now) {
    return inFlight ? Math.max(1, now - inFlightSince) : 0;
  }

  /** Events queued: live ones and the history answers promise. */
  synchronized int size() {
    int n = events.size();
    for (Answer a : answers) {
      n += a.replay.size();
    }
    return n;
  }

  synchronized long droppedTotal() {
    return droppedTotal;
  }

  /** Discards everything; later offers are ignored. */
  synchronized void close() {
    closeLocked();
  }

  private void closeLocked() {
    if (aboveHigh) { // a gauge of outboxes above the mark must not keep counting a closed one
      aboveHigh = false;
      metrics.outboxWatermark(false);
    }
    closed = true;
    events.clear();
    answers.clear();
    control.clear();
  }

  private void pump() {
    synchronized (this) {
      if (pumping || inFlight || closed) {
        return;
      }
      pumping = true;
    }
    while (true) {
      synchronized (this) {
        if (closed || inFlight || !nextFramesLocked()) {
          pumping = false;
          return;
        }
        inFlight = true;
        inFlightSince = settings.clock().nanoTime();
      }
      // Outside the lock: only the pump (this loop) touches next, and offers are not held up
      // while a batch frame is built.
      try {
        if (next.size() == 1) {
          transport.send(next.get(0), sent);
        } else if (!transport.sendAll(next, sent)) {
          transport.send(Frames.batch(next), sent);
        }
      } catch (RuntimeException e) {
        onSent(e);
      } finally {
        next.clear();
      }
    }
  }

  /**
   * Puts the frames of the next send in {@link #next}: a control frame, an answer's {@code
   * subscribed}, a drop notice, or the events waiting (up to the batch size, sent together);
   * false when there is nothing to send.
   */
  private boolean nextFramesLocked() {
    if ((!control.isEmpty() || !answers.isEmpty()) && nextControlOrAnswerLocked()) {
      return true;
    }
    if (unreportedDrops > 0) {
      next.add(Frames.dropped(unreportedDrops));
      unreportedDrops = 0;
      return true;
    }
    int max = settings.maxBatch();
    if (answers.isEmpty()) { // the usual case: live events only
      Entry e = held ? null : events.pollFirst();
      while (e != null) {
        sending.add(e);
        next.add(e.frame());
        e = sending.size() < max ? events.pollFirst() : null;
      }
    } else { // an answer's history first, then live events if no other answer waits
      Entry e = takeLocked();
      while (e != null) {
        sending.add(e);
        next.add(e.frame());
        e = sending.size() < max ? takeLocked() : null;
      }
    }
    if (sending.isEmpty()) {
      return false;
    }
    for (Entry e : sending) {
      lastSent.advance(e.event.id());
    }
    if (aboveHigh && events.size() <= settings.lowWatermark()) {
      aboveHigh = false;
      metrics.outboxWatermark(false);
    }
    return true;
  }

  /**
   * Puts a control frame whose answers have gone, or the next answer's {@code subscribed}
   * (alone, before its history) in {@link #next}; false when neither may go now.
   */
  private boolean nextControlOrAnswerLocked() {
    Control c = control.peekFirst();
    if (c != null && c.afterAnswers <= answersSent) {
      control.pollFirst();
      next.add(c.frame);
      return true;
    }
    Answer a = answers.peekFirst();
    if (a == null || a.sent) {
      return false;
    }
    a.sent = true;
    if (a.covers.isPartitioned()) { // the client's view: its replay and position (protocol.md)
      lastSent = a.covers.copy();
    }
    answersSent++;
    unreportedDrops += a.dropsAfter;
    if (a.replay.isEmpty()) {
      answers.pollFirst();
    }
    next.add(a.frame);
    return true;
  }

  /**
   * The next event to send while answers are queued: the sent answer's next history event, else
   * (no answer left, not held) the oldest live one; null when none may go now.
   */
  private Entry takeLocked() {
    Answer a = answers.peekFirst();
    if (a != null) {
      if (!a.sent) {
        return null; // its subscribed goes first, alone
      }
      Entry e = a.replay.pollFirst();
      if (a.replay.isEmpty()) {
        answers.pollFirst();
      }
      return e;
    }
    return held ? null : events.pollFirst();
  }

  private void onSent(Throwable failure) {
    synchronized (this) {
      inFlight = false;
      metrics.frameSent(sending.size());
      if (failure == null && !sending.isEmpty()) {
        long now = settings.clock().nanoTime();
        long wallNow = System.currentTimeMillis();
        for (Entry e : sending) {
          metrics.eventDelivered(now - e.receivedNanos());
          long published = e.event().publishedAtMillis();
          if (published > 0) {
            metrics.eventAge(Math.max(0, wallNow - published));
          }
        }
      }
      sending.clear();
    }
    if (failure != null) {
      metrics.sendFailed(failure);
      owner.sendFailed(failure);
      return;
    }
    pump();
  }

  @Override
  public synchronized String toString() {
    return "Outbox{queued=" + events.size() + ", answers=" + answers.size() + ", control="
        + control.size() + ", inFlight=" + inFlight + ", pumping=" + pumping + ", held=" + held
        + ", closed=" + closed + ", dropped=" + droppedTotal + "}";
  }

  /** The view a {@link Backpressure} policy gets; valid only inside one onOverflow call. */
  private final class OverflowContext implements Backpressure.Overflow {
    private Entry incoming;
    boolean incomingDropped;
    int dropped;
    int disconnectCode;
    String disconnectReason;

    void begin(Entry entry) {
      incoming = entry;
      incomingDropped = false;
      dropped = 0;
      disconnectCode = 0;
      disconnectReason = null;
    }

    int end() {
      incoming = null;
      return dropped;
    }

    @Override
    public Event incoming() {
      return incoming.event();
    }

    @Override
    public List<Event> queued() {
      List<Event> copy = new ArrayList<>(events.size());
      for (Entry e : events) {
        copy.add(e.event());
      }
      return copy;
    }

    @Override
    public void dropIncoming() {
      if (!incomingDropped) {
        incomingDropped = true;
        dropped++;
      }
    }

    @Override
    public boolean dropOldest() {
      if (events.pollFirst() == null) {
        return false;
      }
      dropped++;
      return true;
    }

    @Override
    public int dropQueued(Predicate<Event> which) {
      int n = 0;
      for (Iterator<Entry> it = events.iterator(); it.hasNext(); ) {
        Entry e = it.next();
        if (which.test(e.event())) {
          it.remove();
          n++;
        }
      }
      dropped += n;
      return n;
    }

    @Override
    public void disconnect(int code, String reason) {
      disconnectCode = code;
      disconnectReason = reason;
    }
  }
}
