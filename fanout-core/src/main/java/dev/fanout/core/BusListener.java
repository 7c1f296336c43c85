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
}
