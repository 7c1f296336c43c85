package dev.fanout.redis;

import dev.fanout.core.Event;
import dev.fanout.core.EventId;
import dev.fanout.core.Recovery;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * The node's position in the stream (in one partition of it: each partition has its own
 * sequencer, epochs and sequence), and the rules that keep it true: the stream is the truth,
 * Pub/Sub a fast hint. Pure: no threads, no sockets; the bus's subscriber thread drives it.
 *
 * <ul>
 *   <li>A live message is delivered as it comes only when it is the next one of the node's epoch.
 *       A gap is filled from the stream, which decides what is delivered: a message the stream
 *       does not hold (forged, stray, from a neighbour) is dropped and counted, and never moves
 *       the position.
 *   <li>A message of an epoch the node does not know is checked against the stream's meta hash
 *       (at most one check per {@link #CHECK_INTERVAL_NANOS}; a message that finds the check
 *       spent is dropped, and the next {@link #onIdle} checks): the node moves to a new epoch only
 *       when the stream says so.
 *   <li>An epoch bridged from the node's epoch at or after its position continues seamlessly; one
 *       bridged below it (the node delivered events the stream lost), a stream created afresh,
 *       or events the stream can no longer give back are reported as a discontinuity.
 * </ul>
 */
final class Sequencer {
  static final int FILL_BATCH = 1000;
  static final long CHECK_INTERVAL_NANOS = TimeUnit.MILLISECONDS.toNanos(20);
  private static final int REMEMBERED_EPOCHS = 64;

  /** Reads the stream. Methods throw {@link FanoutRedisException} when Redis cannot answer. */
  interface Source {
    /** Where the stream stands; null when there is none. */
    Position position();

    /** See {@link RedisHistory#readAfter}. */
    Recovery readAfter(String epoch, long afterSeq, int max, List<Event> out);

    /** The sequence number of the oldest retained event, 0 when none. */
    long oldestSeq();

    /** Bridges the stream to a new epoch if its epoch is still {@code expected}. */
    void newEpoch(String expected);
  }

  /** Where the sequence goes. */
  interface Output {
    void deliver(Event event);

    void discontinuity(String reason);

    /** The node starts after {@code position}: events up to it are history. */
    void startsAt(EventId position);

    /** A message that did not fit the stream was dropped. */
    void stray(Event event, String why);
  }

  private final Source source;
  private final Output out;
  private final LongSupplier nanoClock;
  private final RedisPartition partition; // names the ids this makes; null: unnamed
  private final Set<String> retired = new LinkedHashSet<>(); // epochs the node moved past
  private final Set<String> foreign = new LinkedHashSet<>(); // epochs the stream never had

  private boolean connectedOnce;
  private String epoch; // null until the node knows a stream
  private long seq;
  private long lastCheck;
  private boolean recheck;

  Sequencer(Source source, Output out, LongSupplier nanoClock) {
    this(source, out, nanoClock, null);
  }

  /**
   * The sequencer of one partition of a stream: the positions it tells are named as {@code
   * partition} names its ids, and so must be the events the source and the messages carry.
   */
  Sequencer(Source source, Output out, LongSupplier nanoClock, RedisPartition partition) {
    this.source = source;
    this.out = out;
    this.nanoClock = nanoClock;
    this.partition = partition;
    this.lastCheck = nanoClock.getAsLong() - CHECK_INTERVAL_NANOS;
  }

  /** The last delivered (or start) position, for logs; null before the node knows a stream. */
  EventId position() {
    return epoch == null || seq == 0 ? null : id(epoch, seq);
  }

  private EventId id(String epoch, long seq) {
    return partition == null ? EventId.of(epoch, seq) : partition.eventId(epoch, seq);
  }

  /** A position for messages, the start of an epoch ({@code :0}) included. */
  private String at(String epoch, long seq) {
    if (seq >= 1) {
      return id(epoch, seq).toString();
    }
    boolean named = partition != null && partition.namesItsIds();
    return (named ? partition.index() + "." : "") + epoch + ":" + seq;
  }

  /** After (re)subscribing: everything after the node's position, from the stream. */
  void onConnected() {
    boolean first = !connectedOnce;
    connectedOnce = true;
    Position top = source.position();
    if (top == null) {
      return; // no stream yet: the first publish starts one
    }
    if (epoch == null && first) {
      epoch = top.epoch(); // a fresh node begins at the top; clients get history by snapshot
      seq = top.seq();
      if (top.seq() > 0) {
        out.startsAt(id(top.epochOf(top.seq()), top.seq()));
      }
      return;
    }
    catchUp(top);
  }

  /** A quiet moment on the link: settle a check that a message found spent. */
  void onIdle() {
    if (recheck && checkAllowed()) {
      recheck = false;
      Position top = source.position();
      if (top != null) {
        catchUp(top);
      }
    }
  }

  /** A live message. */
  void onMessage(Event event) {
    EventId id = event.id();
    if (id.epoch().equals(epoch)) {
      if (id.seq() <= seq) {
        return; // already delivered from the stream
      }
      if (id.seq() == seq + 1) {
        deliver(event);
        return;
      }
      fill(); // a gap: the stream has what lies between, and says whether it has this one
      if (id.epoch().equals(epoch) && id.seq() > seq) {
        out.stray(event, "not in the stream, whose top is " + at(epoch, seq));
      }
      return;
    }
    if (retired.contains(id.epoch())) {
      out.stray(event, "of epoch " + id.epoch() + ", which this node moved past");
      return;
    }
    if (foreign.contains(id.epoch())) {
      out.stray(event, "of epoch " + id.epoch() + ", which the stream does not have");
      return;
    }
    if (!checkAllowed()) {
      recheck = true;
      out.stray(event, "of an unknown epoch, arriving faster than the stream is checked");
      return;
    }
    Position top = source.position();
    if (top == null || !top.epoch().equals(id.epoch())) {
      remember(foreign, id.epoch());
      out.stray(event, "of epoch " + id.epoch() + ", which the stream does not have");
      if (top != null && epoch != null && (!top.epoch().equals(epoch) || top.seq() > seq)) {
        catchUp(top); // the stream moved anyway
      }
      return;
    }
    catchUp(top); // reads up to the top, which holds this event if it is real
    if (id.epoch().equals(epoch) && id.seq() > seq) {
      out.stray(event, "not in the stream, whose top is " + at(epoch, seq));
    }
  }

  /** Brings the node onto the stream's epoch and reads everything up to its top. */
  private void catchUp(Position top) {
    if (epoch == null) {
      // The stream appeared after this node started on none: everything in it is new here.
      enter(top.prev() != null ? top.prev() : top.epoch(), 0);
      fill();
      return;
    }
    String tailLost = null;
    if (top.epoch().equals(epoch)) {
      if (seq <= top.seq()) {
        fill();
        return;
      }
      tailLost = "the stream's top " + top + " is below the last delivered " + at(epoch, seq);
      source.newEpoch(epoch);
      top = source.position();
      if (top == null) {
        out.discontinuity(tailLost + "; the stream is gone");
        return;
      }
    }
    if (epoch.equals(top.prev()) && seq <= top.base()) {
      fill(); // bridged at or after this node's position: nothing lost here
      return;
    }
    if (tailLost != null) {
      out.discontinuity(tailLost + " (tail lost in a failover); the stream goes on as " + top);
    } else if (epoch.equals(top.prev())) {
      out.discontinuity("events " + at(epoch, top.base() + 1) + " to " + at(epoch, seq)
          + " were lost when Redis changed server process (restart or failover); the stream"
          + " goes on as " + top);
    } else {
      out.discontinuity("the stream was created afresh (epoch " + epoch + " -> " + top.epoch()
          + ")");
    }
    enter(top.epoch(), top.base());
    fill();
  }

  /** Delivers from the stream every event after the node's position, up to the stream's top. */
  private void fill() {
    boolean repositioned = false;
    while (true) {
      List<Event> events = new ArrayList<>();
      Recovery failure = source.readAfter(epoch, seq, FILL_BATCH, events);
      if (failure == null) {
        events.forEach(this::deliver);
        if (events.size() < FILL_BATCH) {
          return;
        }
        continue;
      }
      Position top = source.position();
      if (!repositioned) {
        out.discontinuity("events after " + at(epoch, seq) + " cannot be read back: "
            + failure.detail());
      }
      if (top == null) {
        return;
      }
      if (repositioned) { // the stream moved under the read twice: start at its top
        enter(top.epoch(), top.seq());
        return;
      }
      repositioned = true;
      enter(top.epoch(), Math.max(top.base(), source.oldestSeq() - 1));
    }
  }

  private void deliver(Event event) {
    EventId id = event.id();
    if (!id.epoch().equals(epoch)) {
      enter(id.epoch(), id.seq() - 1); // crossing a bridge
    }
    seq = id.seq();
    out.deliver(event);
  }

  private void enter(String next, long at) {
    if (epoch != null && !epoch.equals(next)) {
      remember(retired, epoch);
    }
    foreign.remove(next);
    epoch = next;
    seq = Math.max(0, at);
  }

  private boolean checkAllowed() {
    long now = nanoClock.getAsLong();
    if (now - lastCheck < CHECK_INTERVAL_NANOS) {
      return false;
    }
    lastCheck = now;
    return true;
  }

  private static void remember(Set<String> epochs, String epoch) {
    if (epochs.size() >= REMEMBERED_EPOCHS) {
      epochs.remove(epochs.iterator().next()); // bounded: the oldest goes
    }
    epochs.add(epoch);
  }
}
