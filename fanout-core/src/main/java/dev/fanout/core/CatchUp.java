package dev.fanout.core;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * The catch-up rule of a subscribe or a resync, as one pure function: no threads, no I/O, no
 * clock (Centrifuge's {@code recovery.MergePublications} is the same idea). Given what history
 * answered and the live events that queued for the connection while history was read, it says
 * exactly what the client gets after its {@code subscribed} frame, in order, without duplicates
 * or gaps, and the numbers that go in that frame.
 *
 * <p>What the caller ({@link Connection}) does around it, in this order: hold the outbox (live
 * events for the connection queue, unsent), index the connection under its subscription, read
 * the node's position, read history, then hand this merge's answer to the outbox. So every event
 * routed after the position queues live, and every event up to the position is in the store that
 * history reads (a node routes an event only after the store has it). The rule:
 *
 * <ol>
 *   <li><b>Replay</b>: history's events (the missed ones when it recovered, else the snapshot),
 *       minus those whose data is not one JSON value (framed, they would corrupt the frame; the
 *       caller reports them). Nothing is ever sent from history that history did not return.
 *   <li><b>Floor</b>, per partition: the newest id the answer covers. History's last event of
 *       the partition (valid or not), or, when it recovered nothing there, the resume point's id
 *       of it; and the position's id instead when that is newer in the same epoch: every event
 *       up to it is the store's, and the history's answer already chose what of them the client
 *       gets.
 *   <li><b>Live</b>: the queued events that the subscription matches (not those routed under the
 *       previous one while this one was installed), each after the floor of its partition and
 *       after the one kept before it in its partition when of the same epoch: no duplicate of
 *       history, nothing the client already has, ids rising within each partition.
 * </ol>
 *
 * <p>Partitions are independent streams: nothing here compares ids of two partitions. A stream
 * of one partition has one id everywhere, and the rule is the one it always was.
 *
 * <p>Exact when no discontinuity falls inside the hold (the hub resyncs the connection after
 * one, which answers afresh). {@code CatchUpPropertyTest} compares it with a brute-force oracle
 * over random streams, epochs, subscriptions, hold windows and resume points.
 */
final class CatchUp {
  private CatchUp() {}

  /**
   * What a catch-up read.
   *
   * @param resumeFrom the client's position (its last event id in each partition), or null for
   *     a snapshot
   * @param recovered whether history answered the resume exactly
   * @param history the missed events when recovered, else the snapshot; oldest first within
   *     each partition
   * @param position the node's position in the partitions the subscription follows, read after
   *     the connection was indexed; or null
   */
  record Read(Cursor resumeFrom, boolean recovered, List<Event> history, Cursor position) {

    /** A read of a stream of one partition. */
    Read(EventId resumeFrom, boolean recovered, List<Event> history, EventId position) {
      this(resumeFrom == null ? null : Cursor.of(resumeFrom), recovered, history,
          position == null ? null : Cursor.of(position));
    }
  }

  /**
   * The history half of the answer, which needs nothing of the live queue (so the caller can
   * encode the replay before it takes the outbox's lock).
   *
   * @param replay the history events the client gets, oldest first
   * @param invalid history events left out because their data is not one JSON value
   * @param floor the newest id the answer covers, per partition; live events up to it are not
   *     sent. Its owner must not change it: {@link #merge} copies it
   * @param position the node's position, for the {@code subscribed} frame; or null
   */
  record Answer(boolean recovered, List<Event> replay, List<Event> invalid, PartitionIds floor,
      Cursor position) {

    /** How many missed events were replayed: the {@code missed} of {@code subscribed}. */
    int missed() {
      return recovered ? replay.size() : 0;
    }
  }

  /**
   * The whole answer.
   *
   * @param live the queued events the client gets after the replay, in order
   * @param lastAccepted per partition, the newest id the client is sent or covered by this answer
   *     (a later live event at or before it, in its epoch, is a duplicate); empty when none
   */
  record Merged<L>(Answer answer, List<L> live, PartitionIds lastAccepted) {}

  /** The history half: the replay, the floor and the numbers of {@code subscribed}. */
  static Answer answer(Read read) {
    List<Event> replay = new ArrayList<>(read.history().size());
    List<Event> invalid = List.of();
    PartitionIds floor = PartitionIds.of(read.recovered() ? read.resumeFrom() : null);
    for (Event e : read.history()) {
      floor.advance(e.id());
      if (JsonText.isOneValue(e.data())) {
        replay.add(e);
      } else {
        invalid = invalid.isEmpty() ? new ArrayList<>() : invalid;
        invalid.add(e);
      }
    }
    Cursor position = read.position();
    if (position != null) {
      for (EventId id : position.ids()) {
        floor.raise(id);
      }
    }
    return new Answer(read.recovered(), replay, invalid, floor, position);
  }

  /**
   * The live half: which of the events {@code held} (queued while history was read, in the
   * order they were routed) follow the replay.
   *
   * @param event what each queued item carries
   * @param wanted the new subscription
   */
  static <L> Merged<L> merge(Answer answer, Collection<L> held, Function<L, Event> event,
      Predicate<Event> wanted) {
    List<L> live = new ArrayList<>(held.size());
    PartitionIds last = answer.floor().copy();
    for (L item : held) {
      Event e = event.apply(item);
      EventId id = e.id();
      if (last.admits(id) && wanted.test(e)) {
        live.add(item);
        last.put(id);
      }
    }
    return new Merged<>(answer, live, last);
  }

  /** Both halves: what the client gets after {@code subscribed} is the replay, then live. */
  static <L> Merged<L> merge(Read read, Collection<L> held, Function<L, Event> event,
      Predicate<Event> wanted) {
    return merge(answer(read), held, event, wanted);
  }
}
