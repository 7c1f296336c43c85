package dev.fanout.protocol;

import dev.fanout.core.EventId;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * What every stream needs of an {@code event} frame, made once per frame: the hub hands every
 * matching connection the same frame {@code String}, and this keeps, per instance, its id (read
 * and parsed) and its SSE text with the event's own {@code id:} ({@code event: event}, {@code
 * id:}, the frame as data lines). Streams write that one text instance (which a transport may
 * encode once) instead of building and encoding a copy each, and parse no id. A miss costs what
 * building always did. {@code SseSessionTest} compares every text with the one built without it.
 */
final class EventTexts {
  private static final int SLOTS = 256; // recent frames
  private static final AtomicReferenceArray<Event> slots = new AtomicReferenceArray<>(SLOTS);

  /**
   * An event frame read: {@code id} as the frame has it (empty when unsafe in a header), {@code
   * parsed} (null when it is no event id; an id parses only in its one written form, so {@code
   * id} is also the parsed id's), and {@code text} the shared SSE text (null when not shared).
   */
  record Event(String frame, String id, EventId parsed, String text) {}

  private EventTexts() {}

  /** The shared {@link Event} of {@code frame}, an {@code event} frame. */
  static Event of(String frame) {
    int i = System.identityHashCode(frame) & (SLOTS - 1);
    Event e = slots.get(i);
    if (e != null && e.frame == frame) { // the same instance: the same id, the same text
      return e;
    }
    Event read = read(frame, true);
    slots.set(i, read);
    return read;
  }

  /** {@code frame} read afresh, with its text when {@code withText}. */
  static Event read(String frame, boolean withText) {
    String id = SseSession.eventId(frame);
    EventId parsed;
    try {
      parsed = EventId.parse(id);
    } catch (RuntimeException notAnId) {
      parsed = null;
    }
    return new Event(frame, id, parsed, withText ? build(frame, id) : null);
  }

  /** The text, built. */
  static String build(String frame, String id) {
    StringBuilder sb = new StringBuilder(frame.length() + 32 + id.length())
        .append("event: event\nid: ").append(id).append("\ndata: ");
    SseSession.appendData(sb, frame);
    return sb.append("\n\n").toString();
  }
}
