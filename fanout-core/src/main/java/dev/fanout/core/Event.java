package dev.fanout.core;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * One published event: an immutable value.
 *
 * <ul>
 *   <li>{@link #id()}: its position in the stream, assigned atomically when it was published;
 *   <li>{@link #topic()}: the routing key (for payments, the merchant id);
 *   <li>{@link #attributes()}: a few string attributes that subscriptions may constrain (for
 *       payments: {@code method}, {@code status}, {@code paymentId});
 *   <li>{@link #data()}: the payload as JSON text, serialized once by the publisher and never
 *       parsed again on the fan-out path;
 *   <li>{@link #publishedAtMillis()}: when the stream took it (its clock), so a node can say how
 *       old an event is when it reaches a client, outages included.
 * </ul>
 */
public final class Event {
  private final EventId id;
  private final String topic;
  private final Map<String, String> attributes;
  private final String data;
  private final long publishedAtMillis;

  private Event(EventId id, String topic, Map<String, String> attributes, String data,
      long publishedAtMillis) {
    this.id = id;
    this.topic = topic;
    this.attributes = attributes;
    this.data = data;
    this.publishedAtMillis = publishedAtMillis;
  }

  /**
   * Returns an event.
   *
   * @param data the payload as JSON text; it is sent to clients verbatim, so it must be valid JSON
   * @throws IllegalArgumentException if the topic, an attribute name or the data is empty
   */
  public static Event of(EventId id, String topic, Map<String, String> attributes, String data) {
    return of(id, topic, attributes, data, 0);
  }

  /**
   * Returns an event published at {@code publishedAtMillis} (epoch milliseconds; 0 when not
   * known).
   */
  public static Event of(EventId id, String topic, Map<String, String> attributes, String data,
      long publishedAtMillis) {
    Objects.requireNonNull(id, "id");
    requireTopic(topic);
    Objects.requireNonNull(attributes, "attributes");
    Objects.requireNonNull(data, "data");
    if (data.isBlank()) {
      throw new IllegalArgumentException("event data must be JSON text, got an empty string");
    }
    Map<String, String> copy = new LinkedHashMap<>();
    attributes.forEach((k, v) -> {
      if (Objects.requireNonNull(k, "attribute name").isEmpty()) {
        throw new IllegalArgumentException("attribute names must not be empty");
      }
      copy.put(k, Objects.requireNonNull(v, () -> "value of attribute '" + k + "'"));
    });
    if (publishedAtMillis < 0) {
      throw new IllegalArgumentException("publish time must not be negative");
    }
    return new Event(id, topic, Collections.unmodifiableMap(copy), data, publishedAtMillis);
  }

  static void requireTopic(String topic) {
    Objects.requireNonNull(topic, "topic");
    if (topic.isEmpty()) {
      throw new IllegalArgumentException("topic must not be empty");
    }
  }

  public EventId id() {
    return id;
  }

  public String topic() {
    return topic;
  }

  /** The attributes, unmodifiable. */
  public Map<String, String> attributes() {
    return attributes;
  }

  /** The value of one attribute, or null. */
  public String attribute(String name) {
    return attributes.get(name);
  }

  /** When the stream took this event, in epoch milliseconds of its clock; 0 when not known. */
  public long publishedAtMillis() {
    return publishedAtMillis;
  }

  /** The payload as JSON text. */
  public String data() {
    return data;
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof Event)) {
      return false;
    }
    Event e = (Event) o;
    return id.equals(e.id) && topic.equals(e.topic) && attributes.equals(e.attributes)
        && data.equals(e.data);
  }

  @Override
  public int hashCode() {
    return id.hashCode();
  }

  @Override
  public String toString() {
    return "Event{" + id + " topic=" + topic + " " + attributes + "}";
  }
}
