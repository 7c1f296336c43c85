package dev.fanout.jakarta;

import com.google.gson.JsonParseException;
import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import dev.fanout.core.EventId;
import dev.fanout.core.MalformedEventIdException;
import java.io.IOException;
import java.io.StringReader;
import java.util.ArrayList;
import java.util.List;

/**
 * A parsed client message of protocol v1. Parsing is strict (Gson strict mode, bounded nesting,
 * bounded list sizes and string lengths) and every failure is a {@link ProtocolError} with the
 * code and message the client will see.
 */
final class ClientMessage {
  static final int MAX_TOPIC_LENGTH = 128;
  private static final int MAX_NESTING = 4;

  final List<String> merchants; // empty = all allowed
  final List<String> methods; // empty = all
  final EventId lastEventId; // nullable

  private ClientMessage(List<String> merchants, List<String> methods, EventId lastEventId) {
    this.merchants = merchants;
    this.methods = methods;
    this.lastEventId = lastEventId;
  }

  /** A client mistake, reported as an {@code error} frame. */
  static final class ProtocolError extends Exception {
    private static final long serialVersionUID = 1L;
    final String code;

    ProtocolError(String code, String message) {
      super(message, null, false, false);
      this.code = code;
    }
  }

  static ClientMessage parse(String text, int maxMerchants, int maxMethods) throws ProtocolError {
    JsonReader in = new JsonReader(new StringReader(text));
    in.setStrictness(Strictness.STRICT);
    in.setNestingLimit(MAX_NESTING);
    try {
      if (in.peek() != JsonToken.BEGIN_OBJECT) {
        throw new ProtocolError("bad_request", "a message must be a JSON object");
      }
      String type = null;
      List<String> merchants = null;
      List<String> methods = null;
      String lastEventId = null;
      in.beginObject();
      while (in.hasNext()) {
        String name = in.nextName();
        switch (name) {
          case "type":
            type = string(in, "type");
            break;
          case "merchants":
            merchants = strings(in, "merchants", maxMerchants);
            break;
          case "methods":
            methods = strings(in, "methods", maxMethods);
            break;
          case "lastEventId":
            lastEventId = in.peek() == JsonToken.NULL ? nullValue(in) : string(in, "lastEventId");
            break;
          default:
            in.skipValue(); // unknown fields are ignored, so clients can be newer than servers
        }
      }
      in.endObject();
      if (in.peek() != JsonToken.END_DOCUMENT) {
        throw new ProtocolError("bad_request", "unexpected data after the JSON object");
      }
      if (type == null) {
        throw new ProtocolError("bad_request", "field 'type' is required");
      }
      if (!type.equals("subscribe")) {
        throw new ProtocolError("unknown_type",
            "unknown message type '" + abbreviate(type) + "'; this server understands: subscribe");
      }
      EventId id = null;
      if (lastEventId != null) {
        try {
          id = EventId.parse(lastEventId);
        } catch (MalformedEventIdException e) {
          throw new ProtocolError("bad_request", "lastEventId: " + e.getMessage());
        }
      }
      return new ClientMessage(merchants == null ? List.of() : merchants,
          methods == null ? List.of() : methods, id);
    } catch (JsonParseException | IOException | IllegalStateException
        | NumberFormatException e) {
      throw new ProtocolError("bad_request", "malformed JSON" + where(in));
    }
  }

  /**
   * Where the parser stopped, as " at line L column C", from the reader's own description; the
   * parser's wording, class names and links are not the client's business.
   */
  private static String where(JsonReader in) {
    String at = in.toString(); // "JsonReader at line 1 column 12 path $.type"
    int line = at.indexOf(" at line ");
    int path = at.indexOf(" path ");
    return line < 0 ? "" : at.substring(line, path < 0 ? at.length() : path);
  }

  private static String nullValue(JsonReader in) throws IOException {
    in.nextNull();
    return null;
  }

  private static String string(JsonReader in, String field) throws IOException, ProtocolError {
    if (in.peek() != JsonToken.STRING) {
      throw new ProtocolError("bad_request", "field '" + field + "' must be a string");
    }
    return in.nextString();
  }

  private static List<String> strings(JsonReader in, String field, int max)
      throws IOException, ProtocolError {
    if (in.peek() == JsonToken.NULL) {
      in.nextNull();
      return List.of();
    }
    if (in.peek() != JsonToken.BEGIN_ARRAY) {
      throw new ProtocolError("bad_request", "field '" + field + "' must be an array of strings");
    }
    List<String> out = new ArrayList<>();
    in.beginArray();
    while (in.hasNext()) {
      if (out.size() == max) {
        throw new ProtocolError("too_many", "field '" + field + "' may list at most " + max
            + " values");
      }
      if (in.peek() != JsonToken.STRING) {
        throw new ProtocolError("bad_request", "field '" + field + "' must be an array of strings");
      }
      String s = in.nextString();
      if (s.isEmpty() || s.length() > MAX_TOPIC_LENGTH) {
        throw new ProtocolError("bad_request", "values of '" + field + "' must be 1 to "
            + MAX_TOPIC_LENGTH + " characters");
      }
      out.add(s);
    }
    in.endArray();
    return out;
  }

  static String abbreviate(String s) {
    if (s == null) {
      return "";
    }
    return s.length() <= 100 ? s : s.substring(0, 100) + "...";
  }
}
