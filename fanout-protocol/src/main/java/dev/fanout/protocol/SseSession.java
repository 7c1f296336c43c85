package dev.fanout.protocol;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.fanout.core.EventId;
import dev.fanout.core.Transport;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One Server-Sent Events stream, from {@link SseRequest#serve}: a {@link ProtocolSession} whose
 * frames are written as SSE events. The transport calls {@link #closed} once the client is gone.
 *
 * <p>Resume points: an {@code event} carries its id; a {@code subscribed} that starts afresh
 * ({@code recovered:false}) clears the browser's id; and the {@code position} of a {@code
 * subscribed} becomes the id only once its {@code replay} events are written, and not after a
 * {@code dropped} (the position counts after its replay), so {@code Last-Event-ID} is always
 * where the client may resume exactly.
 */
public final class SseSession {
  /** Reconnect delays the stream asks for, spread so a drained node's clients do not all return
   * at once. */
  static final int RETRY_MIN_MILLIS = 1000;
  static final int RETRY_SPREAD_MILLIS = 2000;
  private static final String HEARTBEAT = ":\n\n";

  private static final int NEW = 0;
  private static final int STREAMING = 1;
  private static final int CLOSED = 2;

  private final FanoutNode node;
  private final SseSink sink;
  private final AtomicInteger state = new AtomicInteger(NEW);
  private final AtomicBoolean gone = new AtomicBoolean();
  private final Object lock = new Object();
  private final ArrayDeque<Write> queue = new ArrayDeque<>(); // under lock
  private boolean writing; // under lock
  private volatile ProtocolSession session;
  private volatile byte[] pingPayload; // any completed write after a ping proves the client reads
  // resume-point tracking: frames are formatted one send at a time
  private long replayLeft;
  private String pendingPosition;

  private record Write(String text, Transport.SendCallback done) {}

  SseSession(FanoutNode node, SseSink sink) {
    this.node = node;
    this.sink = sink;
  }

  /** Admits the stream as a connection of the node; false when the node refused it. */
  boolean open(Authentication auth, InetSocketAddress remote) {
    ProtocolSession s = node.open(auth, remote, new Socket());
    session = s;
    if (!s.isOpen() || !state.compareAndSet(NEW, STREAMING)) {
      state.set(CLOSED);
      return false;
    }
    return true;
  }

  /** After the 200: the reconnect delay and a comment (flushing the headers), then subscribes. */
  void stream(String subscribe) {
    int retry = RETRY_MIN_MILLIS + ThreadLocalRandom.current().nextInt(RETRY_SPREAD_MILLIS);
    enqueue(new Write("retry: " + retry + "\n:\n\n", null), false);
    session.textReceived(subscribe);
  }

  /** The client is gone (it closed, or the connection broke); once is enough, more is fine. */
  public void closed() {
    if (gone.compareAndSet(false, true)) {
      state.set(CLOSED);
      ProtocolSession s = session;
      if (s != null) {
        s.closed(1001); // an EventSource has no close code: it went away
      }
    }
  }

  /** Writes {@code w} now or after the writes before it; a heartbeat only when idle. */
  private void enqueue(Write w, boolean onlyIfIdle) {
    synchronized (lock) {
      if (writing) {
        if (!onlyIfIdle) {
          queue.add(w);
        }
        return;
      }
      writing = true;
    }
    write(w);
  }

  private void write(Write w) {
    try {
      sink.write(w.text, failure -> written(w, failure));
    } catch (RuntimeException e) {
      written(w, e);
    }
  }

  private void written(Write w, Throwable failure) {
    byte[] ping = pingPayload;
    ProtocolSession s = session;
    if (failure == null && ping != null && s != null) {
      s.pongReceived(ByteBuffer.wrap(ping));
    }
    Write next;
    synchronized (lock) {
      next = queue.poll();
      if (next == null) {
        writing = false;
      }
    }
    if (w.done != null) {
      w.done.completed(failure);
    }
    if (next != null) {
      write(next);
    }
  }

  /** One frame as one SSE event (or none, for a frame with nothing to say here). */
  String format(String frame) {
    String type = type(frame);
    StringBuilder sb = new StringBuilder(frame.length() + 48).append("event: ").append(type)
        .append('\n');
    String idAfter = null;
    if (type.equals("event")) {
      String id = eventId(frame);
      sb.append("id: ").append(id).append('\n');
      if (replayLeft > 0 && --replayLeft == 0 && pendingPosition != null) {
        if (newer(pendingPosition, id)) {
          idAfter = pendingPosition;
        }
        pendingPosition = null;
      }
    } else if (type.equals("subscribed")) {
      JsonObject o = JsonParser.parseString(frame).getAsJsonObject();
      boolean recovered = o.has("recovered") && o.get("recovered").getAsBoolean();
      replayLeft = o.has("replay") ? o.get("replay").getAsLong() : 0;
      pendingPosition = o.has("position") ? o.get("position").getAsString() : null;
      if (replayLeft == 0 && pendingPosition != null && safe(pendingPosition)) {
        sb.append("id: ").append(pendingPosition).append('\n');
        pendingPosition = null;
      } else if (!recovered) {
        sb.append("id\n"); // starts afresh: the old resume point is forgotten
      }
    } else if (type.equals("dropped")) {
      pendingPosition = null;
    }
    sb.append("data: ");
    appendData(sb, frame);
    sb.append("\n\n");
    if (idAfter != null && safe(idAfter)) {
      sb.append("id: ").append(idAfter).append("\n\n"); // no data: moves Last-Event-ID only
    }
    return sb.toString();
  }

  /** A frame's type: every frame starts {@code {"type":"...",}. */
  private static String type(String frame) {
    String prefix = "{\"type\":\"";
    int end = frame.indexOf('"', prefix.length());
    if (!frame.startsWith(prefix) || end < 0) {
      return "message";
    }
    return frame.substring(prefix.length(), end);
  }

  private static String eventId(String frame) {
    String key = "\"id\":\"";
    int start = frame.indexOf(key);
    int end = start < 0 ? -1 : frame.indexOf('"', start + key.length());
    String id = end < 0 ? "" : frame.substring(start + key.length(), end);
    return safe(id) ? id : "";
  }

  /** An id is a header value on the way back: nothing that could end a line or a field. */
  private static boolean safe(String id) {
    for (int i = 0; i < id.length(); i++) {
      char c = id.charAt(i);
      if (c < 0x21 || c > 0x7e) {
        return false;
      }
    }
    return true;
  }

  /** Whether the position is after the last replayed event, in the same epoch. */
  private static boolean newer(String position, String lastEvent) {
    try {
      EventId p = EventId.parse(position);
      EventId e = EventId.parse(lastEvent);
      return p.epoch().equals(e.epoch()) && p.compareTo(e) > 0;
    } catch (RuntimeException notOneId) {
      return false;
    }
  }

  /** The frame as data lines: a line break in it (JSON whitespace) starts another data line. */
  private static void appendData(StringBuilder sb, String frame) {
    if (frame.indexOf('\n') < 0 && frame.indexOf('\r') < 0) {
      sb.append(frame);
      return;
    }
    for (int i = 0; i < frame.length(); i++) {
      char c = frame.charAt(i);
      if (c == '\r' || c == '\n') {
        if (c == '\r' && i + 1 < frame.length() && frame.charAt(i + 1) == '\n') {
          i++;
        }
        sb.append("\ndata: ");
      } else {
        sb.append(c);
      }
    }
  }

  /** What the session writes to, as a socket. */
  private final class Socket implements ProtocolSocket {
    @Override
    public void send(String frame, Transport.SendCallback done) {
      if (state.get() != STREAMING) {
        done.completed(new IllegalStateException("the stream is closed"));
        return;
      }
      enqueue(new Write(format(frame), done), false);
    }

    @Override
    public boolean sendAll(List<String> frames, Transport.SendCallback done) {
      StringBuilder sb = new StringBuilder();
      for (String f : frames) {
        sb.append(format(f));
      }
      send0(sb.toString(), done);
      return true;
    }

    private void send0(String text, Transport.SendCallback done) {
      if (state.get() != STREAMING) {
        done.completed(new IllegalStateException("the stream is closed"));
        return;
      }
      enqueue(new Write(text, done), false);
    }

    /** A comment line; the session's heartbeat counts any completed write as the answer. */
    @Override
    public void ping(byte[] payload) {
      if (state.get() == STREAMING) {
        pingPayload = payload;
        enqueue(new Write(HEARTBEAT, null), true);
      }
    }

    @Override
    public void close(int code, String reason, Duration deadline) {
      if (state.getAndSet(CLOSED) == STREAMING) {
        sink.close();
      }
    }
  }
}
