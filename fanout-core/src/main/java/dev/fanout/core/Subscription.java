package dev.fanout.core;

import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * What one connection wants to receive: a set of topics (or every topic), constraints on
 * attributes (attribute name to allowed values) and an optional consumer-written {@link
 * EventFilter}. An event matches when all three agree.
 *
 * <pre>{@code
 * Subscription s = Subscription.builder()
 *     .topics("mch_1", "mch_2")
 *     .attribute("method", "card", "sepa")
 *     .filter(e -> !e.attribute("status").equals("authorized"))
 *     .build();
 * }</pre>
 *
 * <p>The hub intersects a subscription with the connection's {@link Scope} before using it
 * ({@link #restrictTo}).
 */
public final class Subscription {
  private static final Subscription ALL = new Subscription(null, Map.of(), null);

  private final Set<String> topics; // null = all topics; empty = none
  private final Map<String, Set<String>> constraints;
  private final EventFilter filter; // nullable

  private Subscription(Set<String> topics, Map<String, Set<String>> constraints,
      EventFilter filter) {
    this.topics = topics;
    this.constraints = constraints;
    this.filter = filter;
  }

  /** Every event the connection's scope allows. */
  public static Subscription all() {
    return ALL;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Whether this subscription takes every topic (before the scope narrows it). */
  public boolean allTopics() {
    return topics == null;
  }

  /** The topics subscribed to; empty when {@link #allTopics()} (or when nothing is allowed). */
  public Set<String> topics() {
    return topics == null ? Set.of() : topics;
  }

  /**
   * Attribute name to the values allowed for it; an attribute not named here is not
   * constrained.
   */
  public Map<String, Set<String>> constraints() {
    return constraints;
  }

  /** The custom filter, or null. */
  public EventFilter filter() {
    return filter;
  }

  /**
   * Whether {@code event} matches. An event lacking a constrained attribute does not match.
   * Exceptions from the custom filter propagate; the hub guards the filters it runs.
   */
  public boolean matches(Event event) {
    return matchesTopic(event.topic()) && (constraints.isEmpty() || matchesAttributes(event))
        && (filter == null || filter.test(event));
  }

  boolean matchesTopic(String topic) {
    return topics == null || topics.contains(topic);
  }

  private boolean matchesAttributes(Event event) {
    for (Map.Entry<String, Set<String>> c : constraints.entrySet()) {
      String value = event.attribute(c.getKey());
      if (value == null || !c.getValue().contains(value)) {
        return false;
      }
    }
    return true;
  }

  /**
   * This subscription intersected with {@code scope}: all topics becomes the scope's topics, a
   * topic list loses the topics the scope does not allow. The result may match nothing.
   */
  public Subscription restrictTo(Scope scope) {
    if (scope.isAll()) {
      return this;
    }
    Set<String> allowed;
    if (topics == null) {
      allowed = scope.topics();
    } else {
      Set<String> both = new HashSet<>(topics);
      both.retainAll(scope.topics());
      allowed = Set.copyOf(both);
    }
    return new Subscription(allowed, constraints, filter);
  }

  Subscription withFilter(EventFilter replacement) {
    return new Subscription(topics, constraints, replacement);
  }

  @Override
  public String toString() {
    return "Subscription{topics=" + (topics == null ? "all" : topics) + ", constraints="
        + constraints + (filter == null ? "" : ", filter=" + filter) + "}";
  }

  /** Builds a {@link Subscription}; by default every topic, no constraint, no filter. */
  public static final class Builder {
    private Set<String> topics; // null = all
    private final Map<String, Set<String>> constraints = new LinkedHashMap<>();
    private EventFilter filter;

    private Builder() {}

    /** Subscribes to these topics only; an empty collection means every topic. */
    public Builder topics(Collection<String> topics) {
      Objects.requireNonNull(topics, "topics");
      topics.forEach(Event::requireTopic);
      this.topics = topics.isEmpty() ? null : Set.copyOf(topics);
      return this;
    }

    public Builder topics(String... topics) {
      return topics(Arrays.asList(topics));
    }

    /**
     * Accepts only events whose attribute {@code name} has one of {@code values}. An empty
     * collection removes the constraint.
     */
    public Builder attribute(String name, Collection<String> values) {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(values, "values");
      if (values.isEmpty()) {
        constraints.remove(name);
      } else {
        constraints.put(name, Set.copyOf(values));
      }
      return this;
    }

    public Builder attribute(String name, String... values) {
      return attribute(name, Arrays.asList(values));
    }

    /** A custom filter applied after topics and attributes; null removes it. */
    public Builder filter(EventFilter filter) {
      this.filter = filter;
      return this;
    }

    public Subscription build() {
      if (topics == null && constraints.isEmpty() && filter == null) {
        return ALL;
      }
      return new Subscription(topics, Collections.unmodifiableMap(new LinkedHashMap<>(constraints)),
          filter);
    }
  }
}
