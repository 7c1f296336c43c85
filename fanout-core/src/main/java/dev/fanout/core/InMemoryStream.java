package dev.fanout.core;

import dev.fanout.core.internal.BusListeners;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * A single-node event stream: a {@link Bus} and a {@link History} over one bounded ring. The
 * embedded default and the workhorse of tests.
 *
 * <p>{@link #publish} assigns the next contiguous id, retains the event and hands it to every
 * listener, all under one lock, so concurrent publishers still produce one total order. Listeners
 * are called on the publisher's thread; the hub only queues, so this does not block for long.
 * The epoch is random per instance and changes on {@link #reset}.
 */
public final class InMemoryStream implements Bus, History {
  /** Default number of events retained. */
  public static final int DEFAULT_RETENTION = 10_000;

  private final Event[] ring;
  private final int maxScan;
  private final BusListeners listeners = new BusListeners();
  private String epoch = EventId.newEpoch();
  private long lastSeq; // guarded by this

  private InMemoryStream(int retention, int maxScan) {
    this.ring = new Event[retention];
    this.maxScan = maxScan;
  }

  /** A stream retaining the last {@value #DEFAULT_RETENTION} events. */
  public static InMemoryStream create() {
    return create(DEFAULT_RETENTION);
  }

  /** A stream retaining the last {@code retention} events; snapshots scan all of them. */
  public static InMemoryStream create(int retention) {
    return create(retention, retention);
  }

  /**
   * A stream retaining the last {@code retention} events, whose snapshots scan at most {@code
   * maxScan} of them.
   */
  public static InMemoryStream create(int retention, int maxScan) {
    if (retention < 1) {
      throw new IllegalArgumentException("retention must be at least 1, got " + retention);
    }
    if (maxScan < 1) {
      throw new IllegalArgumentException("max scan must be at least 1, got " + maxScan);
    }
    return new InMemoryStream(retention, maxScan);
  }

  @Override
  public synchronized EventId publish(String topic, Map<String, String> attributes, String data) {
    if (data != null && !JsonText.isOneValue(data)) {
      throw new IllegalArgumentException("event data must be one JSON value, got '"
          + (data.length() > 40 ? data.substring(0, 40) + "..." : data) + "'");
    }
    Event event = Event.of(EventId.of(epoch, lastSeq + 1), topic, attributes, data,
        System.currentTimeMillis());
    lastSeq++;
    ring[slot(lastSeq)] = event;
    listeners.event(event);
    return event.id();
  }

  @Override
  public AutoCloseable subscribe(BusListener listener) {
    EventId top;
    AutoCloseable handle;
    synchronized (this) {
      handle = listeners.add(listener);
      top = lastSeq == 0 ? null : EventId.of(epoch, lastSeq);
    }
    if (top != null) {
      listener.onPosition(top);
    }
    return handle;
  }

  /**
   * Forgets everything and starts a new epoch, as a Redis that lost its data would; listeners are
   * told of the discontinuity.
   */
  public void reset() {
    synchronized (this) {
      epoch = EventId.newEpoch();
      lastSeq = 0;
      Arrays.fill(ring, null);
    }
    listeners.discontinuity("in-memory stream reset to a new epoch");
  }

  /** The current epoch. */
  public synchronized String epoch() {
    return epoch;
  }

  /** The id of the newest event, or null when empty. */
  synchronized EventId lastId() {
    return lastSeq == 0 ? null : EventId.of(epoch, lastSeq);
  }

  @Override
  public synchronized List<Event> latest(int limit, Subscription subscription) {
    List<Event> out = new ArrayList<>(Math.min(limit, 64));
    long stop = Math.max(oldestSeq(), lastSeq - maxScan + 1);
    for (long seq = lastSeq; seq >= stop && out.size() < limit; seq--) {
      Event e = ring[slot(seq)];
      if (subscription.matches(e)) {
        out.add(e);
      }
    }
    Collections.reverse(out);
    return out;
  }

  @Override
  public synchronized Recovery since(EventId after, Subscription subscription) {
    if (!after.epoch().equals(epoch)) {
      return Recovery.notRecovered(Recovery.Reason.OTHER_EPOCH,
          "id " + after + " is not of the current epoch " + epoch);
    }
    if (after.seq() > lastSeq) {
      return Recovery.notRecovered(Recovery.Reason.UNKNOWN_ID,
          "id " + after + " is beyond the newest event " + lastSeq);
    }
    if (after.seq() < oldestSeq() - 1) {
      return Recovery.notRecovered(Recovery.Reason.TRIMMED,
          "events after " + after + " were trimmed; the oldest retained is " + oldestSeq());
    }
    List<Event> out = new ArrayList<>();
    for (long seq = after.seq() + 1; seq <= lastSeq; seq++) {
      Event e = ring[slot(seq)];
      if (subscription.matches(e)) {
        out.add(e);
      }
    }
    return Recovery.recovered(out);
  }

  /** Resumes that missed more than the retention find their events trimmed. */
  @Override
  public long recoveryLimit() {
    return ring.length;
  }

  private long oldestSeq() {
    return Math.max(1, lastSeq - ring.length + 1);
  }

  private int slot(long seq) {
    return (int) (seq % ring.length);
  }

  /** This stream: it is its own history. */
  @Override
  public History history() {
    return this;
  }

  /** Removes every listener. */
  @Override
  public void close() {
    listeners.clear();
  }
}
