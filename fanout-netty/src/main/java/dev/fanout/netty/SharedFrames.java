package dev.fanout.netty;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Function;

/**
 * One encoded WebSocket text frame (header and payload) per frame the hub hands out, shared by
 * every recipient. The hub encodes an event's frame once and gives every matching connection the
 * same {@code String}; this keeps, per string instance, the bytes a server sends for it (RFC 6455,
 * unmasked, one final frame) and hands each connection a retained duplicate: no per-recipient
 * UTF-8 encoding or copy. {@code SharedFramesTest} compares the bytes with Netty's own encoder's.
 * Only for connections without extensions (permessage-deflate encodes per connection).
 */
final class SharedFrames {
  private static final int SLOTS = 256; // recent frames; a miss costs what encoding always did

  private final AtomicReferenceArray<Entry> slots = new AtomicReferenceArray<>(SLOTS);
  private final Function<String, ByteBuf> encoder;

  /** WebSocket text frames. */
  SharedFrames() {
    this(SharedFrames::encode);
  }

  private SharedFrames(Function<String, ByteBuf> encoder) {
    this.encoder = encoder;
  }

  /**
   * Server-Sent Events texts as HTTP/1.1 chunks (the size in hex, CRLF, the UTF-8 bytes, CRLF):
   * an event's text is one instance for every stream it goes to (fanout-protocol's {@code
   * EventTexts}), encoded and framed here once. {@link #payload} is the text's bytes alone (an
   * HTTP/2 stream's DATA). Never for an empty text: its chunk would end the body.
   */
  static SharedFrames chunks() {
    return new SharedFrames(SharedFrames::chunk);
  }

  /** The HTTP/1.1 chunk of {@code text}, not empty. */
  static ByteBuf chunk(String text) {
    byte[] payload = text.getBytes(StandardCharsets.UTF_8);
    byte[] size = (Integer.toHexString(payload.length) + "\r\n")
        .getBytes(StandardCharsets.US_ASCII);
    byte[] chunk = new byte[size.length + payload.length + 2];
    System.arraycopy(size, 0, chunk, 0, size.length);
    System.arraycopy(payload, 0, chunk, size.length, payload.length);
    chunk[chunk.length - 2] = '\r';
    chunk[chunk.length - 1] = '\n';
    return Unpooled.wrappedBuffer(chunk);
  }

  /** The payload of a {@link #chunk}, taking over the caller's reference to it. */
  static ByteBuf payload(ByteBuf chunk) {
    int start = chunk.readerIndex() + chunk.bytesBefore((byte) '\n') + 1;
    ByteBuf payload = chunk.retainedSlice(start, chunk.writerIndex() - 2 - start);
    chunk.release();
    return payload;
  }

  private record Entry(String text, ByteBuf frame) {}

  /**
   * The frame of {@code text}, retained for the caller: write it (the channel releases it). The
   * cache never releases its own reference: its buffers are unpooled heap arrays the garbage
   * collector reclaims once evicted and written, so a buffer's count never reaches zero while a
   * connection may still take a duplicate of it (releasing on eviction raced with such a take).
   */
  ByteBuf frame(String text) {
    int i = System.identityHashCode(text) & (SLOTS - 1);
    Entry e = slots.get(i);
    if (e != null && e.text == text) { // the same instance: the same bytes
      return e.frame.retainedDuplicate();
    }
    ByteBuf encoded = encoder.apply(text);
    slots.set(i, new Entry(text, encoded));
    return encoded.retainedDuplicate();
  }

  /** The unmasked, final text frame of {@code text}. */
  static ByteBuf encode(String text) {
    byte[] payload = text.getBytes(StandardCharsets.UTF_8);
    int n = payload.length;
    int header = n < 126 ? 2 : n <= 0xFFFF ? 4 : 10;
    byte[] frame = new byte[header + n];
    frame[0] = (byte) 0x81; // FIN, text
    if (n < 126) {
      frame[1] = (byte) n;
    } else if (n <= 0xFFFF) {
      frame[1] = 126;
      frame[2] = (byte) (n >>> 8);
      frame[3] = (byte) n;
    } else {
      frame[1] = 127;
      for (int b = 0; b < 8; b++) {
        frame[2 + b] = (byte) ((long) n >>> (56 - 8 * b));
      }
    }
    System.arraycopy(payload, 0, frame, header, n);
    return Unpooled.wrappedBuffer(frame);
  }
}
