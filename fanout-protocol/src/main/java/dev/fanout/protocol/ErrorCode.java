package dev.fanout.protocol;

/**
 * The codes of protocol v1's {@code error} frame ({@code {"type":"error","code":...,
 * "message":...}}): the connection stays open, the message that caused it is ignored. See
 * docs/protocol.md.
 */
public enum ErrorCode {
  /** Not a JSON object, a field of the wrong type, a malformed {@code lastEventId}. */
  BAD_REQUEST("bad_request"),
  /** A {@code type} this server does not understand. */
  UNKNOWN_TYPE("unknown_type"),
  /** More topics, filter attributes or filter values than the server allows. */
  TOO_MANY("too_many"),
  /** A topic outside the connection's scope. */
  FORBIDDEN("forbidden"),
  /** Subscribes faster than the connection's rate. */
  RATE_LIMITED("rate_limited");

  private final String wire;

  ErrorCode(String wire) {
    this.wire = wire;
  }

  /** The code as the client sees it, such as {@code bad_request}. */
  public String wire() {
    return wire;
  }
}
