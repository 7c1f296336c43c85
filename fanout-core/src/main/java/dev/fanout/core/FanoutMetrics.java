package dev.fanout.core;

/**
 * What the hub reports as it works; bind it to any metrics library (the example server binds it
 * to Prometheus). Every method has a no-op default, so an implementation overrides only what it
 * records. Calls come from publishing and transport threads, concurrently: implementations must
 * be thread-safe and quick. A method that throws is logged and otherwise ignored.
 *
 * <p>Gauges such as the number of open connections and the total queued events are read from
 * {@link Hub#connectionCount()} and {@link Hub#queuedEvents()} rather than pushed.
 */
public interface FanoutMetrics {

  /** Records nothing. */
  FanoutMetrics NOOP = new FanoutMetrics() {};

  default void connectionOpened() {}

  default void connectionClosed() {}

  /** An event reached this node's hub and was routed to {@code recipients} connections. */
  default void eventRouted(Event event, int recipients) {}

  /**
   * A send carrying {@code events} events (0 for a control frame) was written: one frame, or
   * where the transport writes several together ({@link Transport#sendAll}) one write of that
   * many event frames.
   */
  default void frameSent(int events) {}

  /** One event was written to one client, {@code nanos} after it reached the hub. */
  default void eventDelivered(long nanos) {}

  /**
   * One event was written to one client {@code millis} after it was published (by the stream's
   * clock): the age a user sees, outages and catch-up included. Only for events whose publish
   * time is known.
   */
  default void eventAge(long millis) {}

  /** {@code count} events were dropped for one connection by the named backpressure policy. */
  default void eventsDropped(String policy, int count) {}

  /** A connection's outbox crossed its high watermark (true) or fell back to its low one. */
  default void outboxWatermark(boolean aboveHigh) {}

  /**
   * The bus reported lost events (a gap it could not fill, a failover, a stream created afresh)
   * and the hub resynchronized {@code connections} subscribed connections.
   */
  default void discontinuity(int connections) {}

  /** A client asked to resume; {@code recovered} says whether history could answer exactly. */
  default void resumed(boolean recovered) {}

  /** A resume's history was read from the node's memory ({@code true}) or from the store. */
  default void resumeRead(boolean fromMemory) {}

  /** A consumer's {@link EventFilter} threw; the event was treated as not matching. */
  default void filterFailed(Throwable failure) {}

  /** A transport reported a failed send; the connection is closed. */
  default void sendFailed(Throwable failure) {}

  /**
   * An event whose data is not one JSON value reached the hub (from an old or buggy publisher)
   * and was dropped instead of being framed: clients never see it.
   */
  default void invalidEvent(Event event) {}
}
