package dev.fanout.spring;

import dev.fanout.core.BusStatus;
import dev.fanout.protocol.FanoutNode;
import dev.fanout.protocol.NodeStatus;
import org.springframework.boot.health.contributor.AbstractHealthIndicator;
import org.springframework.boot.health.contributor.Health;

/**
 * {@code fanout} in {@code /actuator/health}: DOWN while the stream's link (Redis) is down
 * (clients are told their events will come late, and new subscribes cannot read history),
 * OUT_OF_SERVICE while draining. Its details say which stream the node follows and how it is, so
 * that a node that receives nothing while a publisher writes elsewhere says why: the stream
 * ({@code redis} and its namespace, or {@code in-memory}), the link and why it went down, how old
 * the newest event is, messages the stream did not hold, and the connections.
 */
final class FanoutHealthIndicator extends AbstractHealthIndicator {
  private final FanoutNode node;
  private final String namespace;

  /** @param namespace the Redis namespace the node's stream follows; null in memory */
  FanoutHealthIndicator(FanoutNode node, String namespace) {
    super("fanout health check failed");
    this.node = node;
    this.namespace = namespace;
  }

  @Override
  protected void doHealthCheck(Health.Builder builder) {
    NodeStatus status = node.status();
    BusStatus bus = status.bus();
    if (status.draining()) {
      builder.outOfService();
    } else if (!bus.link().isUp()) {
      builder.down();
    } else {
      builder.up();
    }
    builder.withDetail("stream", namespace == null ? "in-memory" : "redis");
    if (namespace != null) {
      builder.withDetail("namespace", namespace);
    }
    builder.withDetail("link", bus.link().name());
    if (bus.downReason() != null) {
      builder.withDetail("linkDownReason", bus.downReason());
    }
    if (bus.writesRefused() != null) { // still up: the node serves, publishes fail
      builder.withDetail("writesRefused", bus.writesRefused());
    }
    builder.withDetail("newestEventAgeMillis", status.newestEventAgeMillis())
        .withDetail("strayMessages", bus.strayMessages())
        .withDetail("connections", status.connections())
        .withDetail("connectionsByTransport", status.connectionsByTransport())
        .withDetail("closingSockets", status.closingSockets());
  }
}
