package dev.fanout.core;

import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Contains a consumer's filter: an exception means "no match", is counted, and logged once. */
final class GuardedFilter implements EventFilter {
  private static final Logger log = LoggerFactory.getLogger(GuardedFilter.class);

  private final EventFilter delegate;
  private final FanoutMetrics metrics;
  private final AtomicBoolean logged = new AtomicBoolean();

  GuardedFilter(EventFilter delegate, FanoutMetrics metrics) {
    this.delegate = delegate;
    this.metrics = metrics;
  }

  @Override
  public boolean test(Event event) {
    try {
      return delegate.test(event);
    } catch (RuntimeException | StackOverflowError e) {
      metrics.filterFailed(e);
      if (logged.compareAndSet(false, true)) {
        log.warn("event filter {} threw on {}; treated as no match (logged once per subscription)",
            delegate, event, e);
      } else {
        log.debug("event filter {} threw on {}", delegate, event, e);
      }
      return false;
    }
  }

  @Override
  public String toString() {
    return delegate.toString();
  }
}
