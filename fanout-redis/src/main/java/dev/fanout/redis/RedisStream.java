package dev.fanout.redis;

import java.util.Objects;

/**
 * Names and retention of one fanout stream in Redis. Every name derives from a namespace, so
 * several streams (or several environments) can share a Redis:
 *
 * <ul>
 *   <li>{@code {ns}:stream}: the Redis Stream holding retained events, entry id {@code <seq>-0};
 *   <li>{@code {ns}:meta}: a hash with the stream's {@code epoch} and last {@code seq};
 *   <li>{@code ns:events}: the Pub/Sub channel every node subscribes to;
 *   <li>{@code ns:probe:<node>}: each node's private probe channel.
 * </ul>
 *
 * <p>The braces make both keys hash to one Redis Cluster slot, as the publish function needs.
 * Per-topic channels (and sharded Pub/Sub) can later be derived from the same namespace without
 * touching the stream layout.
 */
public final class RedisStream {
  /** Default retained events (approximate, MAXLEN ~). */
  public static final int DEFAULT_RETENTION = 100_000;

  private final String namespace;
  private final int retention;

  private RedisStream(String namespace, int retention) {
    this.namespace = namespace;
    this.retention = retention;
  }

  /**
   * A stream in {@code namespace}: 1 to 64 characters of letters, digits, {@code .}, {@code _},
   * {@code -}.
   */
  public static RedisStream named(String namespace) {
    Objects.requireNonNull(namespace, "namespace");
    if (!namespace.matches("[A-Za-z0-9._-]{1,64}")) {
      throw new IllegalArgumentException("namespace must be 1 to 64 characters of "
          + "[A-Za-z0-9._-], got '" + namespace + "'");
    }
    return new RedisStream(namespace, DEFAULT_RETENTION);
  }

  /** The same stream retaining about {@code events} events (Redis trims with MAXLEN ~). */
  public RedisStream withRetention(int events) {
    if (events < 1) {
      throw new IllegalArgumentException("retention must be at least 1 event, got " + events);
    }
    return new RedisStream(namespace, events);
  }

  public String namespace() {
    return namespace;
  }

  public int retention() {
    return retention;
  }

  public String streamKey() {
    return "{" + namespace + "}:stream";
  }

  public String metaKey() {
    return "{" + namespace + "}:meta";
  }

  /** The stream of one topic's events, read by resumes of subscriptions to named topics. */
  public String topicKey(String topic) {
    return "{" + namespace + "}:topic:" + topic;
  }

  /** The set of this namespace's topic streams, dropped with their epoch. */
  public String topicsKey() {
    return "{" + namespace + "}:topics";
  }

  public String channel() {
    return namespace + ":events";
  }

  String probeChannel(String node) {
    return namespace + ":probe:" + node;
  }

  @Override
  public String toString() {
    return "RedisStream{" + namespace + ", retention=" + retention + "}";
  }
}
