package dev.fanout.core;

import java.util.Arrays;
import java.util.Collection;
import java.util.Objects;
import java.util.Set;

/**
 * The topics an authenticated principal may see. A scope is intersected with every
 * subscription, on live delivery, on snapshot and on resume alike: a subscription can narrow
 * what a connection gets, never widen it.
 */
public final class Scope {
  private static final Scope ALL = new Scope(null);

  private final Set<String> topics; // null = all topics

  private Scope(Set<String> topics) {
    this.topics = topics;
  }

  /** Every topic. */
  public static Scope all() {
    return ALL;
  }

  /** Nothing at all. */
  public static Scope none() {
    return of(Set.of());
  }

  /** Only these topics; an empty collection allows nothing. */
  public static Scope of(Collection<String> topics) {
    Objects.requireNonNull(topics, "topics");
    topics.forEach(Event::requireTopic);
    return new Scope(Set.copyOf(topics));
  }

  public static Scope of(String... topics) {
    return of(Arrays.asList(topics));
  }

  public boolean isAll() {
    return topics == null;
  }

  /** The allowed topics; only meaningful when {@link #isAll()} is false. */
  public Set<String> topics() {
    return topics == null ? Set.of() : topics;
  }

  public boolean allows(String topic) {
    return topics == null || topics.contains(topic);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Scope && Objects.equals(((Scope) o).topics, topics);
  }

  @Override
  public int hashCode() {
    return Objects.hashCode(topics);
  }

  @Override
  public String toString() {
    return topics == null ? "Scope{all}" : "Scope" + topics;
  }
}
