package dev.fanout.core;

import java.util.List;

/**
 * Every server-to-client frame of wire protocol v1 (docs/protocol.md), encoded here and nowhere
 * else. Most are built from pieces that need no escaping (ids are alphanumeric, data is already
 * JSON), so no JSON library is needed and an event frame is encoded once and shared by every
 * recipient; the one free text, an {@code error}'s code and message, is escaped as Gson escapes
 * it, so the frame is byte for byte the one the protocol module used to build with Gson.
 */
final class Frames {
  private static final char[] HEX = "0123456789abcdef".toCharArray();

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
   * live ones. {@code position} (may be null): the newest event id the node had routed in each
   * partition the subscription follows (its wire form: one id with one partition), a resume
   * point once those {@code replay} events are processed; see protocol.md.
   */
  static String subscribed(boolean recovered, int missed, int replay, Cursor position) {
    return "{\"type\":\"subscribed\",\"recovered\":" + recovered + ",\"missed\":" + missed
        + ",\"replay\":" + replay
        + (position == null ? "" : ",\"position\":\"" + position + "\"") + "}";
  }

  /**
   * A refused message: {@code code} (such as {@code bad_request}) and a human-readable {@code
   * message}, escaped as JSON strings (a null one is written as JSON null).
   */
  static String error(String code, String message) {
    int length = 48 + (code == null ? 0 : code.length())
        + (message == null ? 0 : message.length());
    StringBuilder sb = new StringBuilder(length).append("{\"type\":\"error\",\"code\":");
    string(sb, code);
    sb.append(",\"message\":");
    string(sb, message);
    return sb.append('}').toString();
  }

  /**
   * Appends {@code s} as a JSON string the way Gson's default writer does: quote, backslash and
   * the control characters escaped (the common ones by name, the rest as {@code \\u00xx}), and
   * U+2028 and U+2029 too (JavaScript line terminators); everything else as it is.
   */
  private static void string(StringBuilder sb, String s) {
    if (s == null) {
      sb.append("null");
      return;
    }
    sb.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\t' -> sb.append("\\t");
        case '\b' -> sb.append("\\b");
        case '\n' -> sb.append("\\n");
        case '\r' -> sb.append("\\r");
        case '\f' -> sb.append("\\f");
        case '\u2028' -> sb.append("\\u2028");
        case '\u2029' -> sb.append("\\u2029");
        default -> {
          if (c < 0x20) {
            sb.append("\\u00").append(HEX[c >> 4]).append(HEX[c & 0xf]);
          } else {
            sb.append(c);
          }
        }
      }
    }
    sb.append('"');
  }
}
