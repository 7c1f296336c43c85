package dev.fanout.core;

/** Receives what a {@link Bus} carries. Called on the bus's delivery thread; must not block. */
public interface BusListener {

  /** The next event of the stream, in id order. */
  void onEvent(Event event);

  /**
   * Events were lost between the last {@link #onEvent} and the next one (a gap that history
   * could not fill, or a stream created afresh under a new epoch). The hub answers by
   * resynchronizing its connections: each is told {@code recovered:false} and gets a fresh
   * snapshot, so no client is left with a silent hole.
   */
  void onDiscontinuity(String reason);

  /**
   * Events of one partition were lost (see {@link #onDiscontinuity(String)}): only connections
   * that follow it need resynchronizing. By default treated as a loss on every partition.
   */
  default void onDiscontinuity(int partition, String reason) {
    onDiscontinuity(reason);
  }

  /**
   * The bus starts after {@code position}: events up to it are history, not delivered (a bus
   * that starts on an existing stream begins at its top). Called before any {@link #onEvent},
   * when the bus knows it. The hub offers it to subscribers as their resume point until it has
   * routed an event of its own.
   */
  default void onPosition(EventId position) {}

  /**
   * The bus's link went down ({@code up} false: events published meanwhile will arrive late, once
   * it is back) or came back. The hub tells its clients, so a page can show "delayed" instead
   * of "live" while nothing can flow.
   */
  default void onBusState(boolean up) {}
}
