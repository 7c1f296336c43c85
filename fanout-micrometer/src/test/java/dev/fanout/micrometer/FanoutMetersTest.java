package dev.fanout.micrometer;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;

class FanoutMetersTest {
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final FanoutMeters meters = new FanoutMeters(registry);

  private double refused(String status, String reason) {
    var c = registry.find("fanout_handshakes_refused").tag("status", status)
        .tag("reason", reason).counter();
    return c == null ? 0 : c.count();
  }

  @Test
  void refusalsAreCountedByStatusAndReasonAndFreeTextIsBounded() {
    meters.handshakeRefused(401, "token missing");
    meters.handshakeRefused(401, "token missing");
    meters.handshakeRefused(403, "origin not allowed");
    assertThat(refused("401", "token missing")).isEqualTo(2);
    assertThat(refused("403", "origin not allowed")).isEqualTo(1);
    for (int i = 0; i < FanoutMeters.MAX_REASONS + 20; i++) {
      meters.handshakeRefused(401, "bad token #" + i);
    }
    assertThat(registry.find("fanout_handshakes_refused").counters())
        .hasSizeLessThanOrEqualTo(FanoutMeters.MAX_REASONS + 1);
    assertThat(refused("401", "other")).isGreaterThanOrEqualTo(20);
  }

  @Test
  void closesAreCountedByCodeAndDropSeriesExistAtZero() {
    meters.connectionClosed(4001);
    meters.connectionClosed(4001);
    meters.connectionClosed(1001);
    assertThat(registry.get("fanout_connections_closed_by_code").tag("code", "4001").counter()
        .count()).isEqualTo(2);
    assertThat(registry.get("fanout_events_dropped").tag("policy", "disconnect").counter()
        .count()).isZero();
  }
}
