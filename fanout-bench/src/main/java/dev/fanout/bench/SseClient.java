package dev.fanout.bench;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Locale;

/**
 * One simulated dashboard over Server-Sent Events (docs/protocol.md, "Server-Sent Events"): {@code
 * GET <path>?merchants=<merchant>} (no parameter: every merchant), then it reads the {@code
 * text/event-stream} as it comes, in whatever pieces, and hands each frame's JSON (an SSE event's
 * data) to the scan every transport shares ({@link LeanClient}). It resumes as a browser's
 * EventSource does: a new {@link #connect} sends the last {@code id:} received as {@code
 * Last-Event-ID} (an empty {@code id:} forgets it), which the server makes a resume point over
 * everything the client follows.
 *
 * <p>The response is read incrementally with no allocation per event: the HTTP head (status 200,
 * chunked or not), the chunks, then lines ending in LF, CRLF or CR; {@code data:} lines are joined
 * with LF into a buffer the client keeps, {@code id:} is copied into another, and a blank line
 * dispatches the event. Comments ({@code :}, the heartbeat), {@code retry:} (the generator has its
 * own backoff) and {@code event:} (the data's JSON says its type) are skipped. The server ending
 * the stream counts as close code 1000, a connection broken off as 1006 (SSE has no close codes).
 */
final class SseClient extends LeanClient {
  private static final byte[] HEADER_END = ascii("\r\n\r\n");
  private static final byte[] DATA = ascii("data");
  private static final byte[] ID = ascii("id");
  private static final int MAX_LINE_BYTES = 16 << 20;
  private static final int MAX_ID_BYTES = 4096;

  private static final int HEAD = 0;
  private static final int CHUNK_SIZE = 1;
  private static final int CHUNK_DATA = 2;
  private static final int CHUNK_END = 3;
  private static final int IDENTITY = 4;
  private static final int DONE = 5;

  // Touched only on the io thread, but the last event id (see resumeFrom).
  private int state;
  private byte[] head = new byte[512]; // the response's head read so far
  private int headLength;
  private long chunkLeft; // CHUNK_SIZE: the size read so far; CHUNK_DATA: the bytes to come
  private boolean chunkExtension; // CHUNK_SIZE: past a ';'
  private byte[] line = new byte[256]; // a line begun in an earlier read
  private int lineLength;
  private boolean afterCr; // the previous line ended in CR: an LF right after belongs to it
  private byte[] data = new byte[1024]; // the event's data lines, each followed by LF
  private int dataLength;
  private byte[] idField = new byte[64]; // the last event id buffer (the id: field's value)
  private int idFieldLength = -1; // -1: no id field yet
  private byte[] lastId = new byte[64]; // the last event id: set when an event is dispatched
  private volatile int lastIdLength;

  SseClient(LeanSockets io, URI uri, String merchant, Tally tally) {
    super(io, uri, merchant, tally);
  }

  @Override
  void resetConnection() {
    state = HEAD;
    headLength = 0;
    lineLength = 0;
    afterCr = false;
    dataLength = 0;
    idFieldLength = -1; // a new connection starts from the last event id, not a half event's
  }

  @Override
  byte[] request() {
    String query = uri.getRawQuery() == null ? "" : uri.getRawQuery();
    if (merchant != null) {
      query += (query.isEmpty() ? "" : "&") + "merchants="
          + URLEncoder.encode(merchant, StandardCharsets.UTF_8);
    }
    int n = lastIdLength;
    return ascii("GET " + uri.getRawPath() + (query.isEmpty() ? "" : "?" + query)
        + " HTTP/1.1\r\nHost: " + hostHeader() + "\r\nAccept: text/event-stream\r\n"
        + (n == 0 ? "" : "Last-Event-ID: " + new String(lastId, 0, n, StandardCharsets.UTF_8)
            + "\r\n")
        + "\r\n");
  }

  /**
   * The last event id, sent as {@code Last-Event-ID} on the next connection (null: none). Read
   * off the I/O thread only to tell whether there is one.
   */
  @Override
  String resumeFrom() {
    int n = lastIdLength;
    return n == 0 ? null : new String(lastId, 0, n, StandardCharsets.UTF_8);
  }

  @Override
  void received(ByteBuffer buf) throws IOException {
    int n = buf.remaining();
    byte[] b = io.readBytes;
    buf.get(b, 0, n);
    int at = 0;
    if (state == HEAD) {
      if (headLength + n > head.length) {
        head = Arrays.copyOf(head, Math.max(head.length * 2, headLength + n));
      }
      System.arraycopy(b, 0, head, headLength, n);
      int searchFrom = Math.max(0, headLength - HEADER_END.length + 1);
      headLength += n;
      int end = indexOf(head, searchFrom, headLength, HEADER_END);
      if (end < 0) {
        if (headLength > 64 * 1024) {
          throw new IOException("a response head over 64 KiB");
        }
        return;
      }
      headRead(end);
      // what followed the head in this read: at its place in b
      at = n - (headLength - (end + HEADER_END.length));
      headLength = 0;
    }
    body(b, at, n);
  }

  /** The head of the answer, {@code head[0, end)}: 200, and how the body comes. */
  private void headRead(int end) throws IOException {
    String text = new String(head, 0, end, StandardCharsets.ISO_8859_1);
    if (!text.startsWith("HTTP/1.1 200")) {
      int eol = text.indexOf('\r');
      throw new IOException("stream refused: " + (eol < 0 ? text : text.substring(0, eol)));
    }
    boolean chunked = false;
    for (String h : text.split("\r\n")) {
      String lower = h.toLowerCase(Locale.ROOT);
      if (lower.startsWith("transfer-encoding:") && lower.contains("chunked")) {
        chunked = true;
      }
    }
    state = chunked ? CHUNK_SIZE : IDENTITY;
    chunkLeft = 0;
    chunkExtension = false;
    opened.complete(null);
  }

  /** Body bytes {@code b[from, to)}: de-chunked, then read as lines. */
  private void body(byte[] b, int from, int to) throws IOException {
    int i = from;
    while (i < to && channel.isOpen()) {
      switch (state) {
        case IDENTITY:
          lines(b, i, to);
          return;
        case CHUNK_SIZE: {
          byte c = b[i++];
          if (c == '\n') {
            if (chunkLeft == 0) { // the last chunk: the server ended the stream
              state = DONE;
              ended(1000);
              return;
            }
            state = CHUNK_DATA;
          } else if (c == ';') {
            chunkExtension = true;
          } else if (c != '\r' && !chunkExtension) {
            int digit = Character.digit(c, 16);
            if (digit < 0 || chunkLeft > (1L << 40)) {
              throw new IOException("a malformed chunk size");
            }
            chunkLeft = chunkLeft * 16 + digit;
          }
          break;
        }
        case CHUNK_DATA: {
          int take = (int) Math.min(chunkLeft, to - i);
          lines(b, i, i + take);
          i += take;
          chunkLeft -= take;
          if (chunkLeft == 0) {
            state = CHUNK_END;
          }
          break;
        }
        case CHUNK_END:
          if (b[i++] == '\n') {
            state = CHUNK_SIZE;
            chunkExtension = false;
          }
          break;
        default: // DONE
          return;
      }
    }
  }

  /** Stream bytes {@code b[from, to)}: complete lines handled where they lie, the rest kept. */
  private void lines(byte[] b, int from, int to) throws IOException {
    int i = from;
    while (i < to) {
      if (afterCr) {
        afterCr = false;
        if (b[i] == '\n') {
          i++;
          continue;
        }
      }
      int end = i;
      while (end < to && b[end] != '\n' && b[end] != '\r') {
        end++;
      }
      if (end == to) { // the line goes on in the next piece
        keep(b, i, to);
        return;
      }
      if (lineLength > 0) {
        keep(b, i, end);
        line(line, 0, lineLength);
        lineLength = 0;
      } else {
        line(b, i, end);
      }
      afterCr = b[end] == '\r';
      i = end + 1;
      if (!channel.isOpen()) {
        return;
      }
    }
  }

  private void keep(byte[] b, int from, int to) throws IOException {
    int n = to - from;
    if (lineLength + n > line.length) {
      if (lineLength + n > MAX_LINE_BYTES) {
        throw new IOException("a line over " + MAX_LINE_BYTES + " bytes");
      }
      line = Arrays.copyOf(line, Math.max(line.length * 2, lineLength + n));
    }
    System.arraycopy(b, from, line, lineLength, n);
    lineLength += n;
  }

  /** One line of the stream, {@code b[from, to)}, without its end. */
  private void line(byte[] b, int from, int to) throws IOException {
    if (from == to) {
      dispatch();
      return;
    }
    if (b[from] == ':') {
      return; // a comment: the heartbeat, or the flush at the start
    }
    int colon = from;
    while (colon < to && b[colon] != ':') {
      colon++;
    }
    int value = colon + 1;
    if (value < to && b[value] == ' ') {
      value++;
    }
    value = Math.min(value, to); // a field without a colon has an empty value
    if (colon - from == DATA.length && startsWith(b, from, colon, DATA)) {
      int n = to - value + 1;
      if (dataLength + n > data.length) {
        if (dataLength + n > MAX_LINE_BYTES) {
          throw new IOException("an event over " + MAX_LINE_BYTES + " bytes");
        }
        data = Arrays.copyOf(data, Math.max(data.length * 2, dataLength + n));
      }
      System.arraycopy(b, value, data, dataLength, n - 1);
      dataLength += n;
      data[dataLength - 1] = '\n';
    } else if (colon - from == ID.length && startsWith(b, from, colon, ID)) {
      int n = to - value;
      for (int k = value; k < to; k++) {
        if (b[k] == 0) {
          return; // an id with NUL is ignored (the HTML standard)
        }
      }
      if (n > MAX_ID_BYTES) {
        throw new IOException("an id over " + MAX_ID_BYTES + " bytes");
      }
      if (n > idField.length) {
        idField = new byte[Math.max(idField.length * 2, n)];
      }
      System.arraycopy(b, value, idField, 0, n);
      idFieldLength = n;
    }
    // event:, retry: and unknown fields: nothing to do
  }

  /** A blank line: the event is complete. */
  private void dispatch() {
    if (idFieldLength >= 0) { // an id: line, possibly alone, moves the resume point
      if (idFieldLength > lastId.length) {
        lastId = new byte[Math.max(lastId.length * 2, idFieldLength)];
      }
      System.arraycopy(idField, 0, lastId, 0, idFieldLength);
      lastIdLength = idFieldLength;
    }
    if (dataLength > 0) {
      scan(data, 0, dataLength - 1); // without the last LF
      dataLength = 0;
    }
  }
}
