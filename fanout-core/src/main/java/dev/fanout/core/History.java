package dev.fanout.core;

import java.util.List;

/**
 * The retained past of the stream: a snapshot for a client that connects, and recovery for a
 * client that resumes. The hub calls it with subscriptions already restricted to the
 * connection's scope, so an implementation only has to apply {@link Subscription#matches}.
 */
public interface History {

  /**
   * The last {@code limit} events matching {@code subscription}, oldest first. Implementations
   * scan a bounded number of entries, so a narrow subscription may get fewer.
   *
   * @throws FanoutException when the history cannot be read (for example, Redis is unreachable):
   *     the hub then closes the connection with 1013 so the client retries, losing nothing
   */
  List<Event> latest(int limit, Subscription subscription);

  /**
   * Exactly the events after {@code after} that match {@code subscription}, oldest first; or not
   * recovered when {@code after} is unknown, trimmed, or of another epoch. Never a partial answer.
   *
   * @throws FanoutException when the history cannot be read, as for {@link #latest}
   */
  Recovery since(EventId after, Subscription subscription);

  /**
   * Exactly the events after {@code after} in every partition it names that match {@code
   * subscription}, oldest first within each partition; or not recovered when any of them cannot
   * be answered exactly (all or nothing). A partition the subscription follows and {@code after}
   * does not name is recovered only when its whole past is retained. By default, for a stream of
   * one partition, {@link #since(EventId, Subscription)} of its one id.
   */
  default Recovery since(Cursor after, Subscription subscription) {
    if (after.size() != 1) {
      return Recovery.notRecovered(Recovery.Reason.UNKNOWN_ID,
          "position " + after + " names " + after.size() + " partitions; this stream has one");
    }
    return since(after.single(), subscription);
  }

  /**
   * The most events a resume may have missed and still be recovered: beyond it {@link #since}
   * answers not recovered (too many to replay, or trimmed from retention). The hub answers
   * resumes from the events it routed recently only within this limit, so both give the same
   * answer. Default: no limit.
   */
  default long recoveryLimit() {
    return Long.MAX_VALUE;
  }

  /** A history that retains nothing: every snapshot is empty and no resume is recovered. */
  static History none() {
    return NoHistory.INSTANCE;
  }
}
