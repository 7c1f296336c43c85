package dev.fanout.spring;

import dev.fanout.protocol.FanoutProtocol;
import java.time.Duration;
import org.springframework.boot.availability.AvailabilityChangeEvent;
import org.springframework.boot.availability.ReadinessState;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.context.SmartLifecycle;

/**
 * Stops the feed first, while the web server still writes: readiness goes to refusing traffic,
 * every client gets 1001 Going Away (spread so they do not all come back at once), then the hub,
 * the bus and the send threads close. Its phase is above the web server's graceful shutdown, so
 * it runs before it.
 */
public final class FanoutLifecycle implements SmartLifecycle {
  private final FanoutProtocol protocol;
  private final Duration spread;
  private final ApplicationEventPublisher events;
  private volatile boolean running;

  FanoutLifecycle(FanoutProtocol protocol, Duration spread, ApplicationEventPublisher events) {
    this.protocol = protocol;
    this.spread = spread;
    this.events = events;
  }

  @Override
  public void start() {
    running = true;
  }

  @Override
  public void stop() {
    AvailabilityChangeEvent.publish(events, this, ReadinessState.REFUSING_TRAFFIC);
    protocol.shutdown(spread);
    running = false;
  }

  @Override
  public boolean isRunning() {
    return running;
  }

  /** Above the web server's graceful shutdown ({@code SmartLifecycle.DEFAULT_PHASE - 1024}). */
  @Override
  public int getPhase() {
    return SmartLifecycle.DEFAULT_PHASE;
  }
}
