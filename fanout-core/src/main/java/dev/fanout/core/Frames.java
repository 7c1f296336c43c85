package dev.fanout.core;

import java.util.List;

/**
 * The server-to-client frames of wire protocol v1 that the hub writes itself. They are built from
 * pieces that need no escaping (ids are alphanumeric, data is already JSON), so no JSON library
 * is needed and an event frame is encoded once and shared by every recipient.
 */
final class Frames {
  private Frames() {}

  static String event(Event event) {
    String data = event.data();
    return new StringBuilder(40 + data.length())
        .append("{\"type\":\"event\",\"id\":\"")
        .append(event.id())
        .append("\",\"data\":")
        .append(data)
        .append('}')
        .toString();
  }

  /** Joins already-encoded event frames; never re-encodes them. */
  static String batch(List<String> eventFrames) {
    int length = 30;
    for (String f : eventFrames) {
      length += f.length() + 1;
    }
    StringBuilder sb = new StringBuilder(length).append("{\"type\":\"batch\",\"events\":[");
    for (int i = 0; i < eventFrames.size(); i++) {
      if (i > 0) {
        sb.append(',');
      }
      sb.append(eventFrames.get(i));
    }
    return sb.append("]}").toString();
  }

  /** The node's bus went down (events will come late) or came back; see protocol.md. */
  static String bus(boolean up) {
    return up ? "{\"type\":\"bus\",\"state\":\"up\"}" : "{\"type\":\"bus\",\"state\":\"down\"}";
  }

  static String dropped(long count) {
    return "{\"type\":\"dropped\",\"count\":" + count + "}";
  }

  /**
   * {@code replay}: how many events from history (the missed ones, or the snapshot) follow before
   * live ones. {@code position} (may be null): the newest event id the node had routed, a resume
   * point once those {@code replay} events are processed; see protocol.md.
   */
  static String subscribed(boolean recovered, int missed, int replay, EventId position) {
    return "{\"type\":\"subscribed\",\"recovered\":" + recovered + ",\"missed\":" + missed
        + ",\"replay\":" + replay
        + (position == null ? "" : ",\"position\":\"" + position + "\"") + "}";
  }
}
