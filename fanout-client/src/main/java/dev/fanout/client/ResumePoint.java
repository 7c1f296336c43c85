package dev.fanout.client;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.fanout.core.Cursor;
import dev.fanout.core.EventId;
import dev.fanout.core.MalformedEventIdException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What a client resumes from after a reconnect: the rule of docs/protocol.md ("Snapshot and
 * resume"), in the one place Java clients take it from. The browser's {@code fanout-client.js}
 * holds the same rule; both run the cases of {@code fanout-client/src/test/resources/
 * resume-cases.json}.
 *
 * <p>The rule: resume from the last event processed, or from the {@code position} of the latest
 * {@code subscribed} when that is newer by sequence within one epoch. Across epochs the last event
 * processed wins: only the server knows how epochs relate, and a lagging node's position in a
 * newer epoch can be older than what the client has (resuming from it would replay events twice).
 * A position counts only once the {@code replay} events that follow its {@code subscribed} have
 * been processed, and not at all if a {@code dropped} comes first: resuming from it earlier would
 * skip the rest of them. A {@code subscribed} that makes the client rebuild its state (a fresh
 * subscribe, {@code recovered:false}) forgets the last event, and so does a change of filters.
 *
 * <p>On a partitioned stream (Redis Cluster: ids {@code <partition>.<epoch>:<seq>}, positions
 * their ids joined by commas) the rule holds per partition: the last event processed of each
 * partition, or the position's id of it when newer, joined in partition order. With one
 * partition that is the one id, as before.
 *
 * <p>Tell it what the client sends and receives, in order: {@link #subscribing()} when a
 * subscribe goes out, {@link #receive} (or {@link #subscribed}, {@link #event}, {@link #dropped})
 * for each frame, {@link #disconnected()} when the connection ends, {@link #forget()} when the
 * filters change. Thread-safe.
 */
public final class ResumePoint {

  /** Why a {@code subscribed} makes the client drop its state and rebuild it from what follows. */
  public enum Reset {
    /** The answer to a subscribe without a resume point (a first one, or new filters). */
    FRESH("fresh"),
    /** A resume the server could not serve exactly: a fresh snapshot follows. */
    NOT_RECOVERED("not-recovered"),
    /** The server's own {@code subscribed} with {@code recovered:false} (it lost events). */
    SERVER_RESYNC("server-resync");

    private final String reason;

    Reset(String reason) {
      this.reason = reason;
    }

    /** The name fanout-client.js gives it ({@code onReset}'s {@code info.reason}). */
    public String reason() {
      return reason;
    }
  }

  private String lastEventId;
  private final Map<Integer, EventId> lastByPartition = new TreeMap<>();
  private boolean opaque; // an id outside the protocol was processed: only the last one counts
  private String position;
  private String pendingPosition;
  private long pendingReplay;
  private final ArrayDeque<Boolean> unanswered = new ArrayDeque<>(); // each: was it a resume?

  /**
   * A subscribe goes out: returns the {@code lastEventId} it must carry, or null for a fresh
   * subscribe, and expects its {@code subscribed}.
   */
  public synchronized String subscribing() {
    String from = resumeFrom();
    unanswered.add(from != null);
    return from;
  }

  /** The filters change: the next subscribe is a fresh one (an old resume point would be wrong). */
  public synchronized void forget() {
    forgetLast();
    position = null;
    pendingPosition = null;
  }

  /** The connection ended: subscribes sent on it will not be answered. */
  public synchronized void disconnected() {
    unanswered.clear();
  }

  /**
   * A frame from the server: {@code subscribed}, {@code event}, {@code batch} and {@code
   * dropped} count, others are ignored.
   *
   * @return the reset a {@code subscribed} calls for, or null
   */
  public synchronized Reset receive(JsonObject frame) {
    JsonElement type = frame.get("type");
    switch (type != null && type.isJsonPrimitive() ? type.getAsString() : "") {
      case "subscribed":
        JsonElement pos = frame.get("position");
        JsonElement replay = frame.get("replay");
        return subscribed(frame.get("recovered").getAsBoolean(),
            pos == null || pos.isJsonNull() ? null : pos.getAsString(),
            replay == null || replay.isJsonNull() ? 0 : replay.getAsLong());
      case "event":
        event(frame.get("id").getAsString());
        return null;
      case "batch":
        for (JsonElement e : frame.getAsJsonArray("events")) {
          event(e.getAsJsonObject().get("id").getAsString());
        }
        return null;
      case "dropped":
        dropped();
        return null;
      default:
        return null;
    }
  }

  /**
   * A {@code subscribed} arrived.
   *
   * @param position its {@code position}, or null when absent
   * @param replay its {@code replay}: events from history that follow before live ones
   * @return the reset it calls for, or null when the client goes on with its state
   */
  public synchronized Reset subscribed(boolean recovered, String position, long replay) {
    Boolean resumed = unanswered.poll();
    Reset reset = null;
    if (resumed == null && !recovered) {
      reset = Reset.SERVER_RESYNC;
    } else if (resumed != null && !resumed) {
      reset = Reset.FRESH;
    } else if (!recovered) {
      reset = Reset.NOT_RECOVERED;
    }
    if (reset != null) {
      forgetLast(); // what follows rebuilds the state, and the resume point
    }
    this.position = null;
    this.pendingPosition = position == null || position.isEmpty() ? null : position;
    this.pendingReplay = replay;
    adoptPositionIfReplayed();
    return reset;
  }

  /** An event was processed. */
  public synchronized void event(String id) {
    lastEventId = id;
    try {
      EventId parsed = EventId.parse(id);
      lastByPartition.put(parsed.partition(), parsed);
    } catch (MalformedEventIdException e) {
      opaque = true;
    }
    if (pendingPosition != null) {
      pendingReplay--;
      adoptPositionIfReplayed();
    }
  }

  /** A {@code dropped} arrived: events are missing, the position of the replay never counts. */
  public synchronized void dropped() {
    pendingPosition = null;
  }

  private void forgetLast() {
    lastEventId = null;
    lastByPartition.clear();
    opaque = false;
  }

  private void adoptPositionIfReplayed() {
    if (pendingPosition != null && pendingReplay <= 0) {
      position = pendingPosition;
      pendingPosition = null;
    }
  }

  /** Where a reconnect resumes from now, or null for a fresh subscribe. */
  public synchronized String resumeFrom() {
    String last = lastEventId;
    String pos = position;
    if (last == null || pos == null) {
      return last == null ? pos : last(last);
    }
    if (opaque) {
      return last; // not ids of this protocol: only the one processed means anything
    }
    try {
      Map<Integer, EventId> from = new TreeMap<>(lastByPartition);
      for (EventId p : Cursor.parse(pos).ids()) {
        EventId l = from.get(p.partition());
        if (l == null || l.sameEpoch(p) && l.seq() < p.seq()) {
          from.put(p.partition(), p);
        }
      }
      return Cursor.of(from.values()).toString();
    } catch (MalformedEventIdException e) {
      return last; // not ids of this protocol: only the one processed means anything
    }
  }

  /** The last event of each partition, joined; the last one as it came for other ids. */
  private String last(String last) {
    if (opaque || lastByPartition.size() <= 1) {
      return last;
    }
    List<EventId> ids = new ArrayList<>(lastByPartition.values());
    try {
      return Cursor.of(ids).toString();
    } catch (MalformedEventIdException e) {
      return last;
    }
  }

  /** The id of the last event processed since the client's state began, or null. */
  public synchronized String lastEventId() {
    return lastEventId;
  }

  @Override
  public synchronized String toString() {
    return "ResumePoint(last=" + lastEventId + ", position=" + position
        + (pendingPosition == null ? "" : ", pending " + pendingPosition + " after "
            + pendingReplay) + ")";
  }
}
