package dev.fanout.protocol;

import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The SSE text of an {@code event} frame whose {@code id:} is the event's own, shared by every
 * stream it goes to: the hub hands every matching connection the same frame {@code String}, and
 * this keeps, per instance, the text made of it once ({@code event: event}, {@code id:}, the
 * frame as data lines), so streams write one instance (which a transport may encode once) instead
 * of building and encoding a copy each. A miss costs what building always did. {@code
 * SseSessionTest} compares every text with the one built without it.
 */
final class EventTexts {
  private static final int SLOTS = 256; // recent frames
  private static final AtomicReferenceArray<Entry> slots = new AtomicReferenceArray<>(SLOTS);

  private record Entry(String frame, String text) {}

  private EventTexts() {}

  /** The text of {@code frame}, an {@code event} frame whose SSE id is {@code id}. */
  static String of(String frame, String id) {
    int i = System.identityHashCode(frame) & (SLOTS - 1);
    Entry e = slots.get(i);
    if (e != null && e.frame == frame) { // the same instance: the same id, the same text
      return e.text;
    }
    String text = build(frame, id);
    slots.set(i, new Entry(frame, text));
    return text;
  }

  /** The text, built. */
  static String build(String frame, String id) {
    StringBuilder sb = new StringBuilder(frame.length() + 32 + id.length())
        .append("event: event\nid: ").append(id).append("\ndata: ");
    SseSession.appendData(sb, frame);
    return sb.append("\n\n").toString();
  }
}
