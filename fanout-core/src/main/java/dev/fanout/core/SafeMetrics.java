package dev.fanout.core;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Guards the consumer's {@link FanoutMetrics}: a throwing listener never breaks delivery. */
final class SafeMetrics implements FanoutMetrics {
  private static final Logger log = LoggerFactory.getLogger(SafeMetrics.class);

  private final FanoutMetrics delegate;

  private SafeMetrics(FanoutMetrics delegate) {
    this.delegate = delegate;
  }

  static FanoutMetrics wrap(FanoutMetrics metrics) {
    return metrics == FanoutMetrics.NOOP || metrics instanceof SafeMetrics
        ? metrics
        : new SafeMetrics(metrics);
  }

  private void guard(Runnable call) {
    try {
      call.run();
    } catch (RuntimeException e) {
      log.warn("metrics listener {} threw; ignored", delegate, e);
    }
  }

  @Override
  public void connectionOpened() {
    guard(() -> delegate.connectionOpened());
  }

  @Override
  public void connectionClosed() {
    guard(() -> delegate.connectionClosed());
  }

  @Override
  public void eventRouted(Event event, int recipients) {
    guard(() -> delegate.eventRouted(event, recipients));
  }

  @Override
  public void frameSent(int events) {
    guard(() -> delegate.frameSent(events));
  }

  @Override
  public void eventDelivered(long nanos) {
    guard(() -> delegate.eventDelivered(nanos));
  }

  @Override
  public void eventsDropped(String policy, int count) {
    guard(() -> delegate.eventsDropped(policy, count));
  }

  @Override
  public void outboxWatermark(boolean aboveHigh) {
    guard(() -> delegate.outboxWatermark(aboveHigh));
  }

  @Override
  public void resumed(boolean recovered) {
    guard(() -> delegate.resumed(recovered));
  }

  @Override
  public void resumeRead(boolean fromMemory) {
    guard(() -> delegate.resumeRead(fromMemory));
  }

  @Override
  public void filterFailed(Throwable failure) {
    guard(() -> delegate.filterFailed(failure));
  }

  @Override
  public void sendFailed(Throwable failure) {
    guard(() -> delegate.sendFailed(failure));
  }

  @Override
  public void discontinuity(int connections) {
    guard(() -> delegate.discontinuity(connections));
  }

  @Override
  public void eventAge(long millis) {
    guard(() -> delegate.eventAge(millis));
  }

  @Override
  public void invalidEvent(Event event) {
    guard(() -> delegate.invalidEvent(event));
  }
}
