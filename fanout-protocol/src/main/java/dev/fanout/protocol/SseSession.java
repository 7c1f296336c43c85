package dev.fanout.protocol;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.fanout.core.Cursor;
import dev.fanout.core.EventId;
import dev.fanout.core.Transport;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One Server-Sent Events stream, from {@link SseRequest#serve}: a {@link ProtocolSession} whose
 * frames are written as SSE events. The transport calls {@link #closed} once the client is gone.
 *
 * <p>Resume points: every {@code id:} is where the client stands in each partition it follows
 * (a {@link Cursor}: with one partition, the id of the last event). An {@code event} moves it in
 * its partition; a {@code subscribed} that starts afresh ({@code recovered:false}) clears it; the
 * {@code position} of a {@code subscribed} moves it only once its {@code replay} events are
 * written, and not after a {@code dropped} (the position counts after its replay). So {@code
 * Last-Event-ID} is always where the client may resume exactly.
 */
public final class SseSession {
  /** Reconnect delays the stream asks for, spread so a drained node's clients do not all return
   * at once. */
  static final int RETRY_MIN_MILLIS = 1000;
  static final int RETRY_SPREAD_MILLIS = 2000;
  private static final String HEARTBEAT = ":\n\n";
  private static final String EVENT = "{\"type\":\"event\""; // type(frame) is event
  /**
   * Whether this server's subscribe takes a position over several partitions (ids joined by
   * commas) as {@code lastEventId}; where it does not, an id over several partitions would be
   * refused, so a partitioned stream's {@code id:} is then the event's own.
   */
  static final boolean POSITIONS = takesPositions();

  private static final int NEW = 0;
  private static final int ADMITTED = 1; // a connection of the node; nothing is written yet
  private static final int STREAMING = 2; // accepted by the transport: writes go out
  private static final int CLOSED = 3;

  private final FanoutNode node;
  private final SseSink sink;
  private final AtomicInteger state = new AtomicInteger(NEW);
  private final AtomicBoolean gone = new AtomicBoolean();
  private final Object lock = new Object();
  private final ArrayDeque<Write> queue = new ArrayDeque<>(); // under lock
  private boolean writing = true; // under lock; held until the stream is accepted
  private Map<String, String> head; // under lock: the 200's headers, until the first write
  private volatile ProtocolSession session;
  // any completed write after a ping proves the client reads: the first one answers it
  private final AtomicReference<byte[]> pingPayload = new AtomicReference<>();
  // resume-point tracking: frames are formatted one send at a time
  private final TreeMap<Integer, EventId> cursor = new TreeMap<>(); // by partition
  private String resumedFrom; // what the stream subscribed with, until its first subscribed
  private long replayLeft;
  private String pendingPosition;
  boolean positions = POSITIONS; // tests: either server
  boolean shared = true; // tests: false builds every text here, as before EventTexts

  /**
   * Texts to write together; {@code frame}: the (first) frame they hold, or null for a comment.
   */
  private record Write(List<String> texts, Transport.SendCallback done, String frame) {}

  SseSession(FanoutNode node, SseSink sink) {
    this.node = node;
    this.sink = sink;
  }

  /** Admits the stream as a connection of the node; false when the node refused it. */
  boolean open(Authentication auth, InetSocketAddress remote) {
    ProtocolSession s = node.open(auth, remote, new Socket());
    session = s;
    if (!s.isOpen() || !state.compareAndSet(NEW, ADMITTED)) {
      state.set(CLOSED);
      return false;
    }
    return true;
  }

  /**
   * The transport accepted the stream: what was sent meanwhile (nothing, or a notice) goes out,
   * and it subscribes. The stream's first write sends the 200 with {@code headers} and, when it
   * is the {@code subscribed} that answers, {@value SseRequest#RECOVERED}; then the reconnect
   * delay and a comment, so the head goes out at once.
   */
  void stream(String subscribe, String resume, Map<String, String> headers) {
    resumedFrom = resume;
    synchronized (lock) {
      head = new LinkedHashMap<>(headers);
    }
    if (!state.compareAndSet(ADMITTED, STREAMING)) { // closed meanwhile: end the response
      failQueued();
      startIfUnsent();
      sink.close();
      return;
    }
    Write first;
    synchronized (lock) {
      first = queue.poll();
      if (first == null) {
        writing = false;
      }
    }
    if (first != null) {
      write(first);
    }
    session.textReceived(subscribe);
  }

  /** The head, if no write has sent it: a stream closed before its answer is still a stream. */
  private void startIfUnsent() {
    Map<String, String> unsent;
    synchronized (lock) {
      unsent = head;
      head = null;
    }
    if (unsent != null) {
      sink.start(unsent);
    }
  }

  private void failQueued() {
    List<Write> dropped;
    synchronized (lock) {
      dropped = List.copyOf(queue);
      queue.clear();
    }
    for (Write w : dropped) {
      if (w.done != null) {
        w.done.completed(new IllegalStateException("the stream is closed"));
      }
    }
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

  /** Writes one at a time; the first sends the head before it. */
  private void write(Write w) {
    try {
      Map<String, String> start;
      synchronized (lock) {
        start = head;
        head = null;
      }
      List<String> texts = w.texts;
      if (start != null) {
        if (w.frame != null && type(w.frame).equals("subscribed")) {
          start.put(SseRequest.RECOVERED, String.valueOf(recovered(w.frame)));
        }
        sink.start(start);
        int retry = RETRY_MIN_MILLIS + ThreadLocalRandom.current().nextInt(RETRY_SPREAD_MILLIS);
        List<String> first = new ArrayList<>(texts.size() + 1);
        first.add("retry: " + retry + "\n:\n\n");
        first.addAll(texts);
        texts = first;
      }
      if (texts.size() == 1) {
        sink.write(texts.get(0), failure -> written(w, failure));
      } else {
        sink.writeAll(texts, failure -> written(w, failure));
      }
    } catch (RuntimeException e) {
      written(w, e);
    }
  }

  private void written(Write w, Throwable failure) {
    byte[] ping = pingPayload.get();
    ProtocolSession s = session;
    if (failure == null && ping != null && s != null && pingPayload.compareAndSet(ping, null)) {
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

  /** One frame as one SSE event. */
  String format(String frame) {
    if (frame.startsWith(EVENT)) {
      return event(shared ? EventTexts.of(frame) : EventTexts.read(frame, false));
    }
    String type = type(frame);
    StringBuilder sb = new StringBuilder(frame.length() + 48).append("event: ").append(type)
        .append('\n');
    if (type.equals("subscribed")) {
      JsonObject o = JsonParser.parseString(frame).getAsJsonObject();
      boolean recovered = recovered(o);
      replayLeft = o.has("replay") ? o.get("replay").getAsLong() : 0;
      pendingPosition = o.has("position") ? o.get("position").getAsString() : null;
      String from = resumedFrom;
      resumedFrom = null;
      String before = current();
      if (!recovered) {
        cursor.clear(); // starts afresh: the old resume point is forgotten
      } else if (from != null) {
        seed(from); // resumed exactly where the client stood
      }
      String id = null;
      if (replayLeft == 0 && pendingPosition != null) {
        id = adopt(pendingPosition, before);
        pendingPosition = null;
      }
      if (id != null) {
        sb.append("id: ").append(id).append('\n');
      } else if (!recovered) {
        sb.append("id\n");
      }
    } else if (type.equals("dropped")) {
      pendingPosition = null;
    }
    sb.append("data: ");
    appendData(sb, frame);
    return sb.append("\n\n").toString();
  }

  /**
   * An {@code event} frame: the shared text when its {@code id:} is the event's own and no
   * position follows it (a live event on one partition), else built for this stream.
   */
  private String event(EventTexts.Event e) {
    String now = advance(e);
    String idAfter = null;
    if (replayLeft > 0 && --replayLeft == 0 && pendingPosition != null) {
      idAfter = adopt(pendingPosition, now);
      pendingPosition = null;
    }
    if (e.text() != null && idAfter == null && (now == null || now.equals(e.id()))) {
      return e.text(); // the event's own id: the same text for every stream
    }
    String frame = e.frame();
    StringBuilder sb = new StringBuilder(frame.length() + 48).append("event: event\nid: ")
        .append(now == null ? e.id() : now).append("\ndata: ");
    appendData(sb, frame);
    sb.append("\n\n");
    if (idAfter != null) {
      sb.append("id: ").append(idAfter).append("\n\n"); // no data: moves Last-Event-ID only
    }
    return sb.toString();
  }

  /** The cursor with the event in its partition, or null when it has no event id. */
  private String advance(EventTexts.Event event) {
    EventId e = event.parsed();
    if (e == null) {
      return null;
    }
    if (!cursor.isEmpty() && cursor.firstEntry().getValue().isPartitioned() != e.isPartitioned()) {
      cursor.clear(); // the stream changed shape: this event is where the client stands now
    }
    cursor.put(e.partition(), e);
    // one partition: its id as written (the plain path builds it, for the property test)
    return cursor.size() == 1 && shared ? event.id() : current();
  }

  private void seed(String resume) {
    try {
      cursor.clear();
      for (EventId e : Cursor.parse(resume).ids()) {
        cursor.put(e.partition(), e);
      }
    } catch (RuntimeException notACursor) {
      cursor.clear();
    }
  }

  /**
   * Moves the cursor to the position where that is ahead (newer in the same epoch, or a partition
   * the client has no event of); returns the new cursor when it changed from {@code before},
   * else null.
   */
  private String adopt(String position, String before) {
    Cursor p;
    try {
      p = Cursor.parse(position);
    } catch (RuntimeException notACursor) {
      return null;
    }
    for (EventId e : p.ids()) {
      if (!cursor.isEmpty()
          && cursor.firstEntry().getValue().isPartitioned() != e.isPartitioned()) {
        return null;
      }
      EventId mine = cursor.get(e.partition());
      if (mine == null || (mine.epoch().equals(e.epoch()) && e.compareTo(mine) > 0)) {
        cursor.put(e.partition(), e);
      }
    }
    String now = current();
    return now == null || now.equals(before) || !safe(now) ? null : now;
  }

  /** The cursor's wire form, or null when empty (or over partitions this server cannot take). */
  private String current() {
    return cursor.isEmpty() || (cursor.size() > 1 && !positions) ? null
        : Cursor.of(cursor.values()).toString();
  }

  private static boolean takesPositions() {
    try {
      ClientMessage.parse("{\"type\":\"subscribe\",\"lastEventId\":\"0.a:1,1.a:1\"}",
          new ClientMessage.Limits(1, 1, 1), Vocabulary.GENERIC);
      return true;
    } catch (ClientMessage.ProtocolError e) {
      return false;
    }
  }

  private static boolean recovered(JsonObject subscribed) {
    return subscribed.has("recovered") && subscribed.get("recovered").getAsBoolean();
  }

  private static boolean recovered(String subscribed) {
    return recovered(JsonParser.parseString(subscribed).getAsJsonObject());
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

  /** An event frame's id; empty when it has none, or one unsafe in a header. */
  static String eventId(String frame) {
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

  /** The frame as data lines: a line break in it (JSON whitespace) starts another data line. */
  static void appendData(StringBuilder sb, String frame) {
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
      if (state.get() == CLOSED) {
        done.completed(new IllegalStateException("the stream is closed"));
        return;
      }
      enqueue(new Write(List.of(format(frame)), done, frame), false);
    }

    @Override
    public boolean sendAll(List<String> frames, Transport.SendCallback done) {
      String[] texts = new String[frames.size()];
      for (int i = 0; i < texts.length; i++) {
        texts[i] = format(frames.get(i)); // shared texts stay shared: written as they are
      }
      if (state.get() == CLOSED) {
        done.completed(new IllegalStateException("the stream is closed"));
      } else {
        enqueue(new Write(List.of(texts), done, frames.isEmpty() ? null : frames.get(0)), false);
      }
      return true;
    }

    /** A comment line; the session's heartbeat counts any completed write as the answer. */
    @Override
    public void ping(byte[] payload) {
      if (state.get() == STREAMING) {
        pingPayload.set(payload);
        enqueue(new Write(List.of(HEARTBEAT), null, null), true);
      }
    }

    @Override
    public void keepAlive() {
      if (state.get() == STREAMING) {
        enqueue(new Write(List.of(HEARTBEAT), null, null), true);
      }
    }

    @Override
    public String transport() {
      return SSE;
    }

    @Override
    public void close(int code, String reason, Duration deadline) {
      if (state.getAndSet(CLOSED) == STREAMING) { // before that, stream() ends the response
        startIfUnsent();
        sink.close();
      }
    }
  }
}
