package dev.fanout.spring;

import dev.fanout.protocol.FanoutNode;
import dev.fanout.protocol.NodeStatus;
import org.springframework.boot.actuate.health.AbstractHealthIndicator;
import org.springframework.boot.actuate.health.Health;

/**
 * {@code fanout} in {@code /actuator/health}: DOWN while the stream's link (Redis) is down
 * (clients are told their events will come late, and new subscribes cannot read history),
 * OUT_OF_SERVICE while draining; details: connections, the link and why it went down.
 */
final class FanoutHealthIndicator extends AbstractHealthIndicator {
  private final FanoutNode node;

  FanoutHealthIndicator(FanoutNode node) {
    super("fanout health check failed");
    this.node = node;
  }

  @Override
  protected void doHealthCheck(Health.Builder builder) {
    NodeStatus status = node.status();
    if (status.draining()) {
      builder.outOfService();
    } else if (!status.bus().link().isUp()) {
      builder.down();
    } else {
      builder.up();
    }
    builder.withDetail("connections", status.connections())
        .withDetail("busUp", status.bus().link().isUp())
        .withDetail("redisLink", status.bus().link().name());
    if (status.bus().downReason() != null) {
      builder.withDetail("redisLinkDownReason", status.bus().downReason());
    }
  }
}
