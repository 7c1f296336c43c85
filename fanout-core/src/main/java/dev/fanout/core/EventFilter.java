package dev.fanout.core;

/**
 * A consumer-written predicate that a {@link Subscription} applies after its topics and attribute
 * constraints. It runs on the publishing thread for every candidate event, so it must be fast and
 * must not block. If it throws, the hub treats the event as not matching, logs the failure and
 * counts it ({@link FanoutMetrics#filterFailed}); it never breaks delivery to others.
 */
@FunctionalInterface
public interface EventFilter {
  boolean test(Event event);
}
