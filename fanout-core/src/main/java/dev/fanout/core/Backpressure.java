package dev.fanout.core;

import java.util.List;
import java.util.Objects;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * What a connection's outbox does with a new event when it already holds its hard cap of queued
 * events (the client reads slower than events arrive).
 *
 * <p>Built-ins, as static factories: {@link #dropNewest()}, {@link #dropOldest()}, {@link
 * #disconnect()} and {@link #conflate(Function)}. Every event a policy drops is counted and the
 * client is told how many it missed with a {@code dropped} frame before its next event.
 *
 * <p>A custom policy implements {@link #onOverflow}: it runs with the outbox locked, on the
 * publishing thread, so it must be quick and must not block. If it throws, or leaves the outbox
 * still full, the incoming event is dropped: the cap is never exceeded.
 */
public interface Backpressure {

  /** Makes room for, or refuses, {@link Overflow#incoming()}. */
  void onOverflow(Overflow overflow);

  /** A short name for logs and metrics, such as {@code drop_oldest}. */
  String name();

  /** The outbox as a policy sees it during one overflow. */
  interface Overflow {
    /** The event that does not fit. */
    Event incoming();

    /** The queued events, oldest first (a copy). */
    List<Event> queued();

    /** Refuses the incoming event. */
    void dropIncoming();

    /** Drops the oldest queued event; false when nothing is queued. */
    boolean dropOldest();

    /** Drops queued events matching {@code which}, visited oldest first; returns how many. */
    int dropQueued(Predicate<Event> which);

    /** Closes the connection with a WebSocket close code and reason; nothing more is queued. */
    void disconnect(int code, String reason);
  }

  /** Keeps what is queued and drops the incoming event. */
  static Backpressure dropNewest() {
    return BuiltInBackpressure.DROP_NEWEST;
  }

  /** Drops the oldest queued event to make room: the client sees the most recent events. */
  static Backpressure dropOldest() {
    return BuiltInBackpressure.DROP_OLDEST;
  }

  /**
   * Closes the connection with 1013 (Try Again Later) and reason {@code "outbox full"}. A client
   * that reconnects with its last event id resumes from history without loss, so this is the
   * policy that loses nothing while the history retains the missed events.
   */
  static Backpressure disconnect() {
    return disconnect(1013, "outbox full");
  }

  /**
   * Closes the connection with {@code code} (1008 Policy Violation or 1013 Try Again Later are
   * the usual ones) and {@code reason}.
   */
  static Backpressure disconnect(int code, String reason) {
    if (code < 1000 || code > 4999) {
      throw new IllegalArgumentException("close code must be in 1000..4999, got " + code);
    }
    Objects.requireNonNull(reason, "reason");
    return new BuiltInBackpressure.Disconnect(code, reason);
  }

  /**
   * Keeps only the newest queued event per key, so a slow dashboard still ends on the latest
   * state of everything it watches (for payments: {@code e -> e.attribute("paymentId")}).
   *
   * <p>On overflow it first drops the queued event with the incoming event's key; failing that,
   * every queued event that a later queued event of the same key supersedes; failing that (every
   * queued key is distinct), the oldest. Events whose key is null are never conflated. The
   * survivors keep their order, so ids still rise on the wire.
   */
  static Backpressure conflate(Function<Event, ?> keyFn) {
    return new BuiltInBackpressure.Conflate(Objects.requireNonNull(keyFn, "keyFn"));
  }

  /**
   * A built-in policy by the name a configuration gives it: {@code drop-oldest}, {@code
   * drop-newest}, {@code disconnect}, or {@code conflate:<attribute>} (the newest queued event
   * per value of that attribute, such as {@code conflate:paymentId}). The one place where
   * command lines and properties become policies.
   *
   * @throws IllegalArgumentException naming the valid forms
   */
  static Backpressure named(String name) {
    Objects.requireNonNull(name, "name");
    switch (name) {
      case "drop-oldest":
        return dropOldest();
      case "drop-newest":
        return dropNewest();
      case "disconnect":
        return disconnect();
      default:
        String attribute = name.startsWith("conflate:") ? name.substring(9) : "";
        if (attribute.isEmpty()) {
          throw new IllegalArgumentException("backpressure must be one of drop-oldest, "
              + "drop-newest, disconnect, conflate:<attribute>; got '" + name + "'");
        }
        return conflate(e -> e.attribute(attribute));
    }
  }
}
