package dev.fanout.core;

import dev.fanout.core.internal.Scheduler;

/**
 * What a {@link Connection} needs of its hub, and nothing more: its place in the routing index,
 * the node's position, history reads on the hub's threads, and the hub's settings. The hub
 * implements it; a connection never sees the {@link Hub}.
 */
interface ConnectionHost {

  /** Indexes {@code c} under {@code now}, and no longer under {@code previous} (null: none). */
  void index(Connection c, Subscription previous, Subscription now);

  /** {@code c} closed: out of the index (it was under {@code last}, null: none) and the hub. */
  void remove(Connection c, Subscription last);

  /**
   * In each partition {@code s} follows, the newest event id the hub has routed (or, before its
   * first, where its bus started there); null when none is known, as after a discontinuity until
   * the next event.
   */
  Cursor position(Subscription s);

  /**
   * Waits until the bus receives every partition the connections indexed so far need (at once
   * when it already does), within the history deadline: false when it does not.
   */
  boolean awaitPartitions();

  /** Whether the bus's link is up, as it last said. */
  boolean busUp();

  /** Runs a subscribe's history read on the hub's history threads; {@code rejected} once closed. */
  void readHistory(Runnable read, Runnable rejected);

  /** Runs a resync's history read, a few at once; {@code rejected} once closed. */
  void readForResync(Runnable read, Runnable rejected);

  /** A history event whose data is not one JSON value: counted and logged, never framed. */
  void rejectInvalid(Event event);

  /** The hub's clock (and timers). */
  Scheduler clock();

  History history();

  FanoutMetrics metrics();

  /** Events sent on a fresh subscribe. */
  int snapshotSize();

  /** How long a subscribe may wait for a history thread before its connection is closed. */
  long historyDeadlineNanos();
}
