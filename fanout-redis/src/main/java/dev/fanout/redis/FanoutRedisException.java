package dev.fanout.redis;

import dev.fanout.core.FanoutException;

/**
 * Redis could not be reached, or answered something fanout cannot use. The one subclass, {@link
 * UnconfirmedPublishException}, is a publish Redis ran whose replication it could not confirm.
 */
public class FanoutRedisException extends FanoutException {
  private static final long serialVersionUID = 1L;

  FanoutRedisException(String message, Throwable cause) {
    super(message, cause);
  }

  FanoutRedisException(String message) {
    super(message);
  }
}
