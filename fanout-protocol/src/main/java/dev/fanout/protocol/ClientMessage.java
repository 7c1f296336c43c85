package dev.fanout.protocol;

import com.google.gson.JsonParseException;
import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import dev.fanout.core.Cursor;
import dev.fanout.core.EventId;
import dev.fanout.core.MalformedEventIdException;
import java.io.IOException;
import java.io.StringReader;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A parsed client message of protocol v1:
 * {@code {"type":"subscribe","topics":[...],"filters":{"<attribute>":[...]},"lastEventId":...}},
 * or the same with the field names a {@link Vocabulary} adds (the example server's payment form:
 * {@code merchants} for topics, {@code methods} for {@code filters.method}). Parsing is strict
 * (Gson strict mode, bounded nesting, bounded list sizes and string lengths) and every failure is
 * a {@link ProtocolError} with the code and message the client will see.
 */
final class ClientMessage {
  static final int MAX_NAME_LENGTH = 128;
  private static final int MAX_NESTING = 4;

  final List<String> topics; // empty = all allowed
  final Map<String, List<String>> filters; // attribute -> allowed values; none = unconstrained
  final Cursor lastEventId; // nullable; one id, or one per partition followed

  private ClientMessage(List<String> topics, Map<String, List<String>> filters,
      Cursor lastEventId) {
    this.topics = topics;
    this.filters = filters;
    this.lastEventId = lastEventId;
  }

  /** What a subscribe may list. */
  record Limits(int maxTopics, int maxFilterAttributes, int maxFilterValues) {}

  /** A client mistake, reported as an {@code error} frame. */
  static final class ProtocolError extends Exception {
    private static final long serialVersionUID = 1L;
    final ErrorCode code;

    ProtocolError(ErrorCode code, String message) {
      super(message, null, false, false);
      this.code = code;
    }
  }

  static ClientMessage parse(String text, Limits limits, Vocabulary words) throws ProtocolError {
    JsonReader in = new JsonReader(new StringReader(text));
    in.setStrictness(Strictness.STRICT);
    in.setNestingLimit(MAX_NESTING);
    try {
      if (in.peek() != JsonToken.BEGIN_OBJECT) {
        throw new ProtocolError(ErrorCode.BAD_REQUEST, "a message must be a JSON object");
      }
      String type = null;
      String topicsField = null;
      List<String> topics = List.of();
      Map<String, List<String>> filters = new LinkedHashMap<>();
      String lastEventId = null;
      in.beginObject();
      while (in.hasNext()) {
        String name = in.nextName();
        String attribute = words.filterAttribute(name);
        if (name.equals("type")) {
          type = string(in, "type");
        } else if (name.equals("lastEventId")) {
          lastEventId = in.peek() == JsonToken.NULL ? nullValue(in) : string(in, "lastEventId");
        } else if (words.isTopics(name)) {
          if (topicsField != null) {
            throw new ProtocolError(ErrorCode.BAD_REQUEST, "give topics once, not in both '"
                + topicsField + "' and '" + name + "'");
          }
          topicsField = name;
          topics = strings(in, name, limits.maxTopics());
        } else if (name.equals("filters")) {
          filters(in, limits, filters);
        } else if (attribute != null) {
          filter(filters, attribute, strings(in, name, limits.maxFilterValues()), limits);
        } else {
          in.skipValue(); // unknown fields are ignored, so clients can be newer than servers
        }
      }
      in.endObject();
      if (in.peek() != JsonToken.END_DOCUMENT) {
        throw new ProtocolError(ErrorCode.BAD_REQUEST, "unexpected data after the JSON object");
      }
      if (type == null) {
        throw new ProtocolError(ErrorCode.BAD_REQUEST, "field 'type' is required");
      }
      if (!type.equals("subscribe")) {
        throw new ProtocolError(ErrorCode.UNKNOWN_TYPE,
            "unknown message type '" + abbreviate(type) + "'; this server understands: subscribe");
      }
      Cursor id = null;
      if (lastEventId != null) {
        try { // one id is parsed (and refused) as it always was; a position joins several
          id = lastEventId.indexOf(',') < 0 ? Cursor.of(EventId.parse(lastEventId))
              : Cursor.parse(lastEventId);
        } catch (MalformedEventIdException e) {
          throw new ProtocolError(ErrorCode.BAD_REQUEST, "lastEventId: " + e.getMessage());
        }
      }
      filters.values().removeIf(List::isEmpty); // an empty list constrains nothing
      return new ClientMessage(topics, Map.copyOf(filters), id);
    } catch (JsonParseException | IOException | IllegalStateException
        | NumberFormatException e) {
      throw new ProtocolError(ErrorCode.BAD_REQUEST, "malformed JSON" + where(in));
    }
  }

  private static void filters(JsonReader in, Limits limits, Map<String, List<String>> into)
      throws IOException, ProtocolError {
    if (in.peek() == JsonToken.NULL) {
      in.nextNull();
      return;
    }
    if (in.peek() != JsonToken.BEGIN_OBJECT) {
      throw new ProtocolError(ErrorCode.BAD_REQUEST,
          "field 'filters' must be an object of attribute names to arrays of strings");
    }
    in.beginObject();
    while (in.hasNext()) {
      String attribute = in.nextName();
      if (attribute.isEmpty() || attribute.length() > MAX_NAME_LENGTH) {
        throw new ProtocolError(ErrorCode.BAD_REQUEST, "attribute names in 'filters' must be 1 to "
            + MAX_NAME_LENGTH + " characters");
      }
      String field = "filters." + abbreviate(attribute);
      filter(into, attribute, strings(in, field, limits.maxFilterValues()), limits);
    }
    in.endObject();
  }

  private static void filter(Map<String, List<String>> filters, String attribute,
      List<String> values, Limits limits) throws ProtocolError {
    if (filters.containsKey(attribute)) {
      throw new ProtocolError(ErrorCode.BAD_REQUEST,
          "attribute '" + abbreviate(attribute) + "' is filtered twice");
    }
    if (filters.size() == limits.maxFilterAttributes()) {
      throw new ProtocolError(ErrorCode.TOO_MANY, "at most " + limits.maxFilterAttributes()
          + " attributes may be filtered");
    }
    filters.put(attribute, values);
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
      throw new ProtocolError(ErrorCode.BAD_REQUEST, "field '" + field + "' must be a string");
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
      throw new ProtocolError(ErrorCode.BAD_REQUEST,
          "field '" + field + "' must be an array of strings");
    }
    List<String> out = new ArrayList<>();
    in.beginArray();
    while (in.hasNext()) {
      if (out.size() == max) {
        throw new ProtocolError(ErrorCode.TOO_MANY,
            "field '" + field + "' may list at most " + max + " values");
      }
      if (in.peek() != JsonToken.STRING) {
        throw new ProtocolError(ErrorCode.BAD_REQUEST,
          "field '" + field + "' must be an array of strings");
      }
      String s = in.nextString();
      if (s.isEmpty() || s.length() > MAX_NAME_LENGTH) {
        throw new ProtocolError(ErrorCode.BAD_REQUEST, "values of '" + field + "' must be 1 to "
            + MAX_NAME_LENGTH + " characters");
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
