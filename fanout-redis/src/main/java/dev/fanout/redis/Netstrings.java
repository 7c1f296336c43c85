package dev.fanout.redis;

import dev.fanout.core.Event;
import dev.fanout.core.EventId;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Decodes the Pub/Sub message the publish function sends: netstrings
 * ({@code <byte length>:<bytes>})
 * for id, topic, data, then attribute name/value pairs, and last the publish time (epoch
 * milliseconds) as a pair with an empty name. Lengths are in bytes, so any UTF-8 text passes
 * unescaped.
 */
final class Netstrings {
  private Netstrings() {}

  static Event decodeEvent(byte[] message) {
    return decodeEvent(message, null);
  }

  /**
   * The event of a message on {@code partition}'s channel, its id named as the partition names
   * its ids; a message whose id already names a partition is malformed (fanout.lua never sends
   * one). {@code partition} null: the id as sent.
   */
  static Event decodeEvent(byte[] message, RedisPartition partition) {
    int[] pos = {0};
    EventId id = EventId.parse(next(message, pos));
    if (partition != null) {
      if (id.isPartitioned()) {
        throw new FanoutRedisException("malformed fanout message: id " + id
            + " names a partition");
      }
      id = partition.eventId(id);
    }
    String topic = next(message, pos);
    String data = next(message, pos);
    Map<String, String> attributes = new LinkedHashMap<>();
    long published = 0;
    while (pos[0] < message.length) {
      String name = next(message, pos);
      String value = next(message, pos);
      if (name.isEmpty()) {
        published = publishTime(value);
      } else {
        attributes.put(name, value);
      }
    }
    return Event.of(id, topic, attributes, data, published);
  }

  /** A publish time written by fanout.lua; 0 (unknown) for anything else. */
  static long publishTime(String millis) {
    if (millis == null || millis.isEmpty() || millis.length() > 15
        || !millis.chars().allMatch(c -> c >= '0' && c <= '9')) {
      return 0;
    }
    return Long.parseLong(millis);
  }

  private static String next(byte[] m, int[] pos) {
    int i = pos[0];
    int length = 0;
    int digits = 0;
    while (i < m.length && m[i] != ':') {
      byte b = m[i++];
      if (b < '0' || b > '9' || ++digits > 10) {
        throw new FanoutRedisException("malformed fanout message: bad length at byte " + i);
      }
      length = length * 10 + (b - '0');
    }
    if (i >= m.length || digits == 0 || length < 0 || i + 1 + length > m.length) {
      throw new FanoutRedisException("malformed fanout message: truncated at byte " + i);
    }
    String s = new String(m, i + 1, length, StandardCharsets.UTF_8);
    pos[0] = i + 1 + length;
    return s;
  }
}
