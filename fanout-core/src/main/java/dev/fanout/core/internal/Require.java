package dev.fanout.core.internal;

import java.time.Duration;
import java.util.Objects;

/**
 * The checks every builder of fanout runs, failing fast with a message that says what to fix
 * (Caffeine's {@code requireArgument}). Not public API: its package may change without notice.
 */
public final class Require {
  private Require() {}

  /**
   * @throws IllegalArgumentException with {@code message} (formatted with {@code args}) unless
   *     {@code ok}
   */
  public static void argument(boolean ok, String message, Object... args) {
    if (!ok) {
      throw new IllegalArgumentException(args.length == 0 ? message
          : String.format(message, args));
    }
  }

  /** {@code n}, or an exception saying "{@code what} must be at least 1, got n". */
  public static int positive(int n, String what) {
    argument(n >= 1, "%s must be at least 1, got %d", what, n);
    return n;
  }

  /** {@code n}, or an exception saying "{@code what} must not be negative, got n". */
  public static int notNegative(int n, String what) {
    argument(n >= 0, "%s must not be negative, got %d", what, n);
    return n;
  }

  /** {@code d}, or an exception saying "{@code what} must be positive, got d". */
  public static Duration positive(Duration d, String what) {
    Objects.requireNonNull(d, what);
    argument(!d.isNegative() && !d.isZero(), "%s must be positive, got %s", what, d);
    return d;
  }

  /** {@code d}, or an exception saying "{@code what} must not be negative, got d". */
  public static Duration notNegative(Duration d, String what) {
    Objects.requireNonNull(d, what);
    argument(!d.isNegative(), "%s must not be negative, got %s", what, d);
    return d;
  }
}
