package dev.fanout.spring;

import dev.fanout.protocol.FanoutNode;
import java.time.Duration;
import org.springframework.boot.availability.AvailabilityChangeEvent;
import org.springframework.boot.availability.ReadinessState;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.context.SmartLifecycle;

/**
 * Starts the node with the context, and stops it first, while the web server still writes:
 * readiness goes to refusing traffic, then the node shuts down (every client gets 1001 Going
 * Away, spread so they do not all come back at once; then its hub, stream and threads stop). Its
 * phase is above the web server's graceful shutdown, so it stops before it.
 */
public final class FanoutLifecycle implements SmartLifecycle {
  private final FanoutNode node;
  private final Duration spread;
  private final ApplicationEventPublisher events;
  private volatile boolean running;

  FanoutLifecycle(FanoutNode node, Duration spread, ApplicationEventPublisher events) {
    this.node = node;
    this.spread = spread;
    this.events = events;
  }

  @Override
  public void start() {
    node.start();
    running = true;
  }

  @Override
  public void stop() {
    AvailabilityChangeEvent.publish(events, this, ReadinessState.REFUSING_TRAFFIC);
    node.shutdown(spread);
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
