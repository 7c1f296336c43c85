package dev.fanout.core;

/** An event id string that is not of the wire form {@code <epoch>:<seq>}. */
public final class MalformedEventIdException extends FanoutException {
  private static final long serialVersionUID = 1L;

  MalformedEventIdException(String message) {
    super(message);
  }
}
