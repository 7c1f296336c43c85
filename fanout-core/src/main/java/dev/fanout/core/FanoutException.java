package dev.fanout.core;

/**
 * The one unchecked exception of fanout. Precise failures are subclasses, so callers can catch
 * the umbrella or just the case they handle.
 */
public class FanoutException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public FanoutException(String message) {
    super(message);
  }

  public FanoutException(String message, Throwable cause) {
    super(message, cause);
  }
}
