package dev.fanout.spring;

import dev.fanout.core.Hub;
import dev.fanout.protocol.FanoutProtocol;
import dev.fanout.redis.RedisBus;
import org.springframework.boot.actuate.health.AbstractHealthIndicator;
import org.springframework.boot.actuate.health.Health;

/**
 * {@code fanout} in {@code /actuator/health}: DOWN while the Redis link is down (clients are
 * told their events will come late, and new subscribes cannot read history), OUT_OF_SERVICE while
 * draining; details: connections, the bus, the link.
 */
final class FanoutHealthIndicator extends AbstractHealthIndicator {
  private final Hub hub;
  private final RedisBus redis; // null: in memory
  private final FanoutProtocol protocol;

  FanoutHealthIndicator(Hub hub, RedisBus redis, FanoutProtocol protocol) {
    super("fanout health check failed");
    this.hub = hub;
    this.redis = redis;
    this.protocol = protocol;
  }

  @Override
  protected void doHealthCheck(Health.Builder builder) {
    if (!protocol.accepting()) {
      builder.outOfService();
    } else if (redis != null && !redis.linkState().isUp()) {
      builder.down();
    } else {
      builder.up();
    }
    builder.withDetail("connections", protocol.connectionCount())
        .withDetail("busUp", hub.busUp());
    if (redis != null) {
      builder.withDetail("redisLink", redis.linkState().name());
      String reason = redis.linkDownReason();
      if (reason != null) {
        builder.withDetail("redisLinkDownReason", reason);
      }
    }
  }
}
