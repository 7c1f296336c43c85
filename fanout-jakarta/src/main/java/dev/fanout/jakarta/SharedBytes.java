package dev.fanout.jakarta;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The UTF-8 bytes of Server-Sent Events texts, once per text instance: an event's text is one
 * {@code String} for every stream it goes to (fanout-protocol shares it), so the streams of one
 * event write one array instead of encoding a copy each. The arrays are never changed; a miss
 * costs what encoding always did. {@code SharedBytesTest} compares them with {@code getBytes}.
 */
final class SharedBytes {
  private static final int SLOTS = 256; // recent texts
  private final AtomicReferenceArray<Entry> slots = new AtomicReferenceArray<>(SLOTS);

  private record Entry(String text, byte[] bytes) {}

  /** The UTF-8 bytes of {@code text}: not to be changed. */
  byte[] of(String text) {
    int i = System.identityHashCode(text) & (SLOTS - 1);
    Entry e = slots.get(i);
    if (e != null && e.text == text) { // the same instance: the same bytes
      return e.bytes;
    }
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    slots.set(i, new Entry(text, bytes));
    return bytes;
  }
}
