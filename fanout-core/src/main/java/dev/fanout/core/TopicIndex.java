package dev.fanout.core;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The hub's routing index: {@code topic -> connections} for connections whose (scope-restricted)
 * subscription names topics, and one set for connections that take every topic. Routing an
 * event visits only {@code byTopic(event.topic)} and {@code allTopics()}. Thread-safe; the sets
 * it hands out are live (weakly consistent) views.
 */
final class TopicIndex {
  private final ConcurrentHashMap<String, Set<Connection>> byTopic = new ConcurrentHashMap<>();
  private final Set<Connection> allTopics = ConcurrentHashMap.newKeySet();

  /** Connections subscribed to {@code topic} by name, or null when none. */
  Set<Connection> byTopic(String topic) {
    return byTopic.get(topic);
  }

  /** Connections that take every topic. */
  Set<Connection> allTopics() {
    return allTopics;
  }

  /** Indexes {@code c} under {@code now}, after removing it from under {@code previous}. */
  void move(Connection c, Subscription previous, Subscription now) {
    remove(c, previous);
    if (now.allTopics()) {
      allTopics.add(c);
      return;
    }
    for (String t : now.topics()) {
      byTopic.compute(t, (k, set) -> {
        Set<Connection> s = set == null ? ConcurrentHashMap.newKeySet() : set;
        s.add(c);
        return s;
      });
    }
  }

  /** Removes {@code c} from under {@code s} (null: it was not indexed). */
  void remove(Connection c, Subscription s) {
    if (s == null) {
      return;
    }
    if (s.allTopics()) {
      allTopics.remove(c);
      return;
    }
    for (String t : s.topics()) {
      byTopic.computeIfPresent(t, (k, set) -> {
        set.remove(c);
        return set.isEmpty() ? null : set;
      });
    }
  }

  /** Distinct connections indexed (for tests: a closed one must never stay). */
  int size() {
    Set<Connection> all = ConcurrentHashMap.newKeySet();
    all.addAll(allTopics);
    byTopic.values().forEach(all::addAll);
    return all.size();
  }
}
