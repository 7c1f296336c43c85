package dev.fanout.core;

/** The state of a bus's link to the nodes' shared medium (Redis); always UP in memory. */
public enum LinkState {
  /** Not up yet since the bus started. */
  CONNECTING,
  /** Events flow. */
  UP,
  /** Lost; events published meanwhile arrive once it is back. */
  DOWN,
  /** The bus is closed. */
  CLOSED;

  public boolean isUp() {
    return this == UP;
  }
}
