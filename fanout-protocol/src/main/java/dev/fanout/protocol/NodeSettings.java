package dev.fanout.protocol;

import dev.fanout.core.Backpressure;
import dev.fanout.core.EventFilter;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * What a {@link FanoutNode}'s connections may do, as its builder set it: read it back with
 * {@link FanoutNode#settings()}. Immutable; every value was validated by the builder.
 */
public final class NodeSettings {
  private final Authenticator authenticator;
  private final List<String> allowedOrigins;
  private final boolean allowMissingOrigin;
  private final Backpressure backpressure;
  final Function<Authentication, EventFilter> filters;
  private final int maxConnections;
  private final int maxConnectionsPerPrincipal;
  private final int maxMessageBytes;
  final ClientMessage.Limits limits;
  final Vocabulary vocabulary;
  private final double subscribesPerSecond;
  private final int subscribeBurst;
  private final int maxProtocolErrors;
  private final int replayPerSecond;
  private final int replayBurst;
  private final int maxConcurrentReplays;
  private final Duration heartbeatInterval;
  private final Duration heartbeatTimeout;
  private final Duration sseHeartbeatInterval;
  private final Duration closeDeadline;

  NodeSettings(FanoutNode.Builder b) {
    this.authenticator = b.authenticator;
    this.allowedOrigins = List.copyOf(b.allowedOrigins);
    this.allowMissingOrigin = b.allowMissingOrigin;
    this.backpressure = b.backpressure;
    this.filters = b.filters;
    this.maxConnections = b.maxConnections;
    this.maxConnectionsPerPrincipal = b.maxConnectionsPerPrincipal;
    this.maxMessageBytes = b.maxMessageBytes;
    this.limits = new ClientMessage.Limits(b.maxTopics, b.maxFilterAttributes,
        b.maxFilterValues);
    this.vocabulary = new Vocabulary(b.topicAliases, b.filterAliases);
    this.subscribesPerSecond = b.subscribesPerSecond;
    this.subscribeBurst = b.subscribeBurst;
    this.maxProtocolErrors = b.maxProtocolErrors;
    this.replayPerSecond = b.replayPerSecond;
    this.replayBurst = b.replayBurst;
    this.maxConcurrentReplays = b.maxConcurrentReplays;
    this.heartbeatInterval = b.heartbeatInterval;
    this.heartbeatTimeout = b.heartbeatTimeout;
    this.sseHeartbeatInterval = b.sseHeartbeatInterval;
    this.closeDeadline = b.closeDeadline;
  }

  public Authenticator authenticator() {
    return authenticator;
  }

  /** Browser origins allowed to connect, as configured ({@code *}: any). */
  public List<String> allowedOrigins() {
    return allowedOrigins;
  }

  public boolean allowMissingOrigin() {
    return allowMissingOrigin;
  }

  /** The connections' backpressure policy, or null for the hub's default. */
  public Backpressure backpressure() {
    return backpressure;
  }

  public int maxConnections() {
    return maxConnections;
  }

  /** Integer.MAX_VALUE when unlimited. */
  public int maxConnectionsPerPrincipal() {
    return maxConnectionsPerPrincipal;
  }

  /** The largest client message, in bytes: an adapter may let its socket buffer more. */
  public int maxMessageBytes() {
    return maxMessageBytes;
  }

  public int maxTopics() {
    return limits.maxTopics();
  }

  public int maxFilterAttributes() {
    return limits.maxFilterAttributes();
  }

  public int maxFilterValues() {
    return limits.maxFilterValues();
  }

  /** Fields a subscribe may use for {@code topics}, such as the example server's merchants. */
  public Set<String> topicAliases() {
    return vocabulary.topicAliases();
  }

  /** Field to attribute, such as the example server's methods to method. */
  public Map<String, String> filterAliases() {
    return vocabulary.filterAliases();
  }

  public double subscribesPerSecond() {
    return subscribesPerSecond;
  }

  public int subscribeBurst() {
    return subscribeBurst;
  }

  public int maxProtocolErrors() {
    return maxProtocolErrors;
  }

  public int replayPerSecond() {
    return replayPerSecond;
  }

  public int replayBurst() {
    return replayBurst;
  }

  public int maxConcurrentReplays() {
    return maxConcurrentReplays;
  }

  public Duration heartbeatInterval() {
    return heartbeatInterval;
  }

  public Duration heartbeatTimeout() {
    return heartbeatTimeout;
  }

  /** How often a Server-Sent Events stream gets a comment line, so proxies keep it open. */
  public Duration sseHeartbeatInterval() {
    return sseHeartbeatInterval;
  }

  /**
   * How long a connection the node closed may take to finish its closing handshake before its
   * socket is closed regardless.
   */
  public Duration closeDeadline() {
    return closeDeadline;
  }

  @Override
  public String toString() {
    return "NodeSettings{origins=" + allowedOrigins + ", maxConnections=" + maxConnections
        + ", heartbeat=" + heartbeatInterval + "/" + heartbeatTimeout + ", sseHeartbeat="
        + sseHeartbeatInterval + "}";
  }
}
