package dev.fanout.core;

import java.util.List;
import java.util.Objects;

/**
 * The answer of {@link History#since}: either exactly the events after the given id, or a plain
 * "not recovered" with its reason. There is no partial answer.
 */
public final class Recovery {

  /** Why events could not be recovered. */
  public enum Reason {
    /** The id names a position this stream never reached. */
    UNKNOWN_ID,
    /** Events after the id were trimmed from the retained history. */
    TRIMMED,
    /** The id belongs to another incarnation of the stream. */
    OTHER_EPOCH,
    /** More events were missed than a recovery may replay. */
    TOO_MANY
  }

  private final List<Event> events; // null when not recovered
  private final Reason reason; // null when recovered
  private final String detail;

  private Recovery(List<Event> events, Reason reason, String detail) {
    this.events = events;
    this.reason = reason;
    this.detail = detail;
  }

  /** Exactly these events, in id order, follow the requested id. */
  public static Recovery recovered(List<Event> events) {
    return new Recovery(List.copyOf(events), null, null);
  }

  public static Recovery notRecovered(Reason reason, String detail) {
    return new Recovery(null, Objects.requireNonNull(reason, "reason"), detail);
  }

  public boolean recovered() {
    return events != null;
  }

  /**
   * The missed events in id order.
   *
   * @throws IllegalStateException when not recovered
   */
  public List<Event> events() {
    if (events == null) {
      throw new IllegalStateException("not recovered: " + reason);
    }
    return events;
  }

  /** Why not recovered, or null when recovered. */
  public Reason reason() {
    return reason;
  }

  public String detail() {
    return detail;
  }

  @Override
  public String toString() {
    return events != null ? "Recovered(" + events.size() + ")" : "NotRecovered(" + reason + ": "
        + detail + ")";
  }
}
