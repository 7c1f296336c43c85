package dev.fanout.core;

import java.util.Map;

/**
 * Publishes events to every node: what a service that produces events needs, and nothing else.
 * Every {@link Bus} is one; fanout-redis's {@code RedisPublisher} is one for services that only
 * publish, with no node of their own.
 */
@FunctionalInterface
public interface Publisher {

  /**
   * Publishes an event to all nodes.
   *
   * @param topic what subscriptions select on, such as a merchant id
   * @param attributes string attributes filters test, such as {@code method} or {@code status}
   * @param data the payload as one JSON value, sent to clients verbatim
   * @return the id assigned to the event
   * @throws IllegalArgumentException when the topic is empty or the data is not one JSON value
   */
  EventId publish(String topic, Map<String, String> attributes, String data);
}
