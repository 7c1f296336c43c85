package dev.fanout.redis;

import dev.fanout.core.FanoutException;

/** Redis could not be reached, or answered something fanout cannot use. */
public final class FanoutRedisException extends FanoutException {
  private static final long serialVersionUID = 1L;

  FanoutRedisException(String message, Throwable cause) {
    super(message, cause);
  }

  FanoutRedisException(String message) {
    super(message);
  }
}
