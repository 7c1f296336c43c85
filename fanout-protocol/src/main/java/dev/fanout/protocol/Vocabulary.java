package dev.fanout.protocol;

import java.util.Map;
import java.util.Set;

/**
 * The field names a subscribe may use besides the generic {@code topics} and {@code filters}:
 * aliases a deployment declares so its clients can speak its own words (the example server's
 * {@code merchants} and {@code methods}). Immutable.
 */
record Vocabulary(Set<String> topicAliases, Map<String, String> filterAliases) {
  static final Set<String> RESERVED = Set.of("type", "topics", "filters", "lastEventId");

  static final Vocabulary GENERIC = new Vocabulary(Set.of(), Map.of());

  Vocabulary {
    topicAliases = Set.copyOf(topicAliases);
    filterAliases = Map.copyOf(filterAliases);
  }

  boolean isTopics(String field) {
    return field.equals("topics") || topicAliases.contains(field);
  }

  /** The attribute a field filters on, or null when it is not a filter alias. */
  String filterAttribute(String field) {
    return filterAliases.get(field);
  }
}
