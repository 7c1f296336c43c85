package dev.fanout.redis;

/** Who closes a connection pool: the object built on it ({@link #THIS}), or whoever shares it. */
enum PoolOwner {
  /** Created for this object alone: closed with it. */
  THIS,
  /** Shared (a bus's pool, used by its publisher and history): closed by its owner. */
  SHARED
}
