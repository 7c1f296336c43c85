package dev.fanout.redis;

import dev.fanout.core.EventId;

/**
 * A publish Redis ran, whose replication it could not confirm: the publisher required {@link
 * #replicasRequired()} replicas ({@link RedisPublisher.Builder#minReplicas}) and {@code WAIT}
 * answered {@link #replicasReached()} within the timeout, or gave no answer (-1: the connection
 * broke, or {@code WAIT} was refused).
 *
 * <p>What is known: the event has the id {@link #id()}; it is in the primary's stream and was
 * published on the channel, so nodes may deliver it, and it stays unless the primary is lost
 * before a replica has it. What is not: that a failover keeps it. A failover to a replica that
 * lacks it loses it, and then every client that saw it is told ({@code recovered:false}); no id
 * is ever reused. Publishing the event again (the caller's choice) gives it a second id, so a
 * consumer sees it twice unless it deduplicates by a key of its own (a payment id).
 */
public final class UnconfirmedPublishException extends FanoutRedisException {
  private static final long serialVersionUID = 1L;

  private final transient EventId id;
  private final int required;
  private final int reached;

  UnconfirmedPublishException(String stream, EventId id, int required, int reached,
      long timeoutMillis, Throwable cause) {
    super("event " + id + " was published on " + stream + " but " + (reached < 0
        ? "no replica count was confirmed (" + (cause == null ? "no answer" : cause.getMessage())
            + ")"
        : "reached " + reached + " of " + required + " replica" + (required == 1 ? "" : "s")
            + " within " + timeoutMillis + " ms")
        + ": it is in the primary's stream and may be delivered, but a failover before a replica "
        + "has it loses it", cause);
    this.id = id;
    this.required = required;
    this.reached = reached;
  }

  /** The id Redis assigned: the event is in the primary's stream under it. */
  public EventId id() {
    return id;
  }

  /** The replicas the publisher requires. */
  public int replicasRequired() {
    return required;
  }

  /**
   * The replicas {@code WAIT} confirmed (fewer than required), or -1 when it gave no answer (the
   * connection broke, or {@code WAIT} was refused, e.g. by an ACL without {@code +wait}).
   */
  public int replicasReached() {
    return reached;
  }
}
