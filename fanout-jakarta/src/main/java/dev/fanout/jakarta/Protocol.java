package dev.fanout.jakarta;

/**
 * How protocol v1 maps onto the core model: {@code merchants} are topics (the publisher sets the
 * event's topic to its {@code merchantId}) and {@code methods} constrain the attribute named
 * {@value #METHOD_ATTRIBUTE}.
 */
public final class Protocol {
  /** The event attribute that a subscribe's {@code methods} constrain. */
  public static final String METHOD_ATTRIBUTE = "method";

  private Protocol() {}
}
