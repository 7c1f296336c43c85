package dev.fanout.client;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Flow;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * A client of protocol v1 over Server-Sent Events ({@code GET /events}, docs/protocol.md,
 * "Server-Sent Events"), recorder style, for tests, warm-ups and load: it opens the stream with
 * the JDK's {@link HttpClient} (HTTP/1.1), parses the body line by line as an {@code EventSource}
 * does, and records the status, the response headers, every event, the comment lines (the
 * heartbeat), the raw text and whether the response ended. A refused request is recorded the
 * same way: its status, and its JSON body as {@link #text()}.
 *
 * <pre>{@code
 * SseClient c = SseClient.open(URI.create("http://127.0.0.1:8080/events?topics=mch_1"));
 * c.awaitEvents("subscribed", 1, Duration.ofSeconds(5));
 * List<SseClient.Event> events = c.awaitEvents("event", 3, Duration.ofSeconds(5));
 * SseClient again = c.reconnect(); // Last-Event-ID: what the browser would send
 * }</pre>
 *
 * <p>Parsing follows the HTML standard's event stream rules: lines end with CR, LF or CR LF; a
 * line starting with {@code :} is a comment; {@code field: value} loses one space after the
 * colon; an {@code id} field sets the last event id, even when empty; a blank line dispatches the
 * event when it has data, whose lines are joined with {@code \n}. No thread of its own: the
 * HttpClient's threads parse what arrives. Awaiting methods throw an {@link
 * IllegalStateException} that quotes what arrived when their timeout passes.
 */
public final class SseClient implements AutoCloseable {
  /** How long {@link #open} waits for the response's headers by default. */
  public static final Duration TIMEOUT = Duration.ofSeconds(10);
  private static volatile HttpClient shared;

  /**
   * One event of the stream.
   *
   * @param type its {@code event} field, {@code message} when it had none
   * @param id its own {@code id} field: null when it had no {@code id} line, {@code ""} for an
   *     empty one
   * @param data its {@code data} lines joined with {@code \n}
   */
  public record Event(String type, String id, String data) {
    /** The data as a JSON object (a protocol frame). */
    public JsonObject json() {
      return JsonParser.parseString(data).getAsJsonObject();
    }
  }

  private final URI uri;
  private final Map<String, String> requestHeaders;
  private final HttpClient http;
  private final Duration timeout;
  private final boolean recording;
  private final Consumer<Event> listener;
  private final Object lock = new Object();
  // under lock
  private final List<Event> events = new ArrayList<>();
  private final StringBuilder raw = new StringBuilder();
  private int eventCount;
  private int comments;
  private String lastEventId = "";
  private Integer retry;
  private boolean ended;
  private Throwable failure;
  // parsing, on the HttpClient's thread that delivers the body (one at a time)
  private final CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
      .onMalformedInput(CodingErrorAction.REPLACE)
      .onUnmappableCharacter(CodingErrorAction.REPLACE);
  private final StringBuilder line = new StringBuilder();
  private boolean afterCr;
  private String idBuffer = "";
  private String type;
  private String id;
  private StringBuilder data;
  // set once the headers are in
  private volatile HttpResponse<Void> response;
  private volatile Flow.Subscription subscription;
  private volatile boolean closed;

  private SseClient(Builder b) {
    this.uri = b.uri;
    this.requestHeaders = Map.copyOf(b.headers);
    this.http = b.http != null ? b.http : sharedClient();
    this.timeout = b.timeout;
    this.recording = b.recording;
    this.listener = b.listener;
  }

  /** Opens {@code uri} and returns once the response's headers are in. */
  public static SseClient open(URI uri) throws IOException, InterruptedException {
    return builder(uri).open();
  }

  /**
   * Opens {@code uri} with these request headers (such as {@code Last-Event-ID}, {@code Origin},
   * {@code Cookie}, {@code Authorization}) and returns once the response's headers are in.
   */
  public static SseClient open(URI uri, Map<String, String> headers)
      throws IOException, InterruptedException {
    Builder b = builder(uri);
    headers.forEach(b::header);
    return b.open();
  }

  /** A client of {@code uri} to set up before {@link Builder#open}. */
  public static Builder builder(URI uri) {
    return new Builder(uri);
  }

  /** What opens an {@link SseClient}. */
  public static final class Builder {
    private final URI uri;
    private final Map<String, String> headers = new LinkedHashMap<>();
    private HttpClient http;
    private Duration timeout = TIMEOUT;
    private boolean recording = true;
    private Consumer<Event> listener;

    private Builder(URI uri) {
      this.uri = Objects.requireNonNull(uri, "uri");
    }

    /** A request header; an empty {@code Last-Event-ID} is sent as given. */
    public Builder header(String name, String value) {
      headers.put(name, value);
      return this;
    }

    /** The {@code Last-Event-ID} header, as a browser's reconnect sends it. */
    public Builder lastEventId(String id) {
      return header("Last-Event-ID", id);
    }

    /** The HttpClient to use; by default one HTTP/1.1 client shared by every SseClient. */
    public Builder httpClient(HttpClient client) {
      this.http = client;
      return this;
    }

    /** How long {@link #open} waits for the response's headers; 10 s by default. */
    public Builder timeout(Duration timeout) {
      this.timeout = timeout;
      return this;
    }

    /**
     * Whether to keep every event and the raw text (the default); a load client that only
     * listens and counts turns it off.
     */
    public Builder recording(boolean recording) {
      this.recording = recording;
      return this;
    }

    /** Called with each event, on the HttpClient's thread, as it is parsed. */
    public Builder onEvent(Consumer<Event> listener) {
      this.listener = listener;
      return this;
    }

    /** Sends the request and returns once the response's headers are in. */
    public SseClient open() throws IOException, InterruptedException {
      SseClient c = new SseClient(this);
      c.start();
      return c;
    }
  }

  private static HttpClient sharedClient() {
    HttpClient c = shared;
    if (c == null) {
      synchronized (SseClient.class) {
        c = shared;
        if (c == null) {
          c = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
              .connectTimeout(TIMEOUT).build();
          shared = c;
        }
      }
    }
    return c;
  }

  private void start() throws IOException, InterruptedException {
    HttpRequest.Builder r = HttpRequest.newBuilder(uri).GET().timeout(timeout)
        .header("Accept", "text/event-stream");
    requestHeaders.forEach(r::setHeader);
    response = http.send(r.build(), info -> new Body());
  }

  /** Opens the same URL again with {@code Last-Event-ID} set as a browser's reconnect does. */
  public SseClient reconnect() throws IOException, InterruptedException {
    Builder b = builder(uri).httpClient(http).timeout(timeout).recording(recording)
        .onEvent(listener);
    requestHeaders.forEach(b::header);
    String last = lastEventId();
    if (last.isEmpty()) {
      b.headers.remove("Last-Event-ID"); // an EventSource sends none then
    } else {
      b.lastEventId(last);
    }
    return b.open();
  }

  /** The URL this client opened. */
  public URI uri() {
    return uri;
  }

  /** The response's status. */
  public int status() {
    return response.statusCode();
  }

  /** The response's headers (names in any case). */
  public Map<String, List<String>> headers() {
    return response.headers().map();
  }

  /** The first value of the response header {@code name}, or null. */
  public String header(String name) {
    return response.headers().firstValue(name).orElse(null);
  }

  /** The events so far, in order (empty when not {@link Builder#recording}). */
  public List<Event> events() {
    synchronized (lock) {
      return List.copyOf(events);
    }
  }

  /** The events of {@code type} so far, in order. */
  public List<Event> events(String type) {
    List<Event> out = new ArrayList<>();
    for (Event e : events()) {
      if (e.type().equals(type)) {
        out.add(e);
      }
    }
    return out;
  }

  /** The {@code id} of each {@code event} event so far: the ids of the events delivered. */
  public List<String> eventIds() {
    List<String> out = new ArrayList<>();
    String prefix = "{\"type\":\"event\",\"id\":\"";
    for (Event e : events("event")) {
      String d = e.data();
      int end = d.startsWith(prefix) ? d.indexOf('"', prefix.length()) : -1;
      out.add(end > 0 ? d.substring(prefix.length(), end) // the frame's own order: no parsing
          : e.json().get("id").getAsString());
    }
    return out;
  }

  /** How many events arrived, recorded or not. */
  public int eventCount() {
    synchronized (lock) {
      return eventCount;
    }
  }

  /** How many comment lines arrived (the opening one and the heartbeats). */
  public int comments() {
    synchronized (lock) {
      return comments;
    }
  }

  /** The body as it arrived so far, line breaks included (empty when not recording). */
  public String text() {
    synchronized (lock) {
      return raw.toString();
    }
  }

  /**
   * The last event id as an {@code EventSource} keeps it: the value of the last {@code id}
   * field, even an empty one; {@code ""} before any. {@link #reconnect} sends it.
   */
  public String lastEventId() {
    synchronized (lock) {
      return lastEventId;
    }
  }

  /** The reconnect delay the last {@code retry} field asked for, in milliseconds, or null. */
  public Integer retry() {
    synchronized (lock) {
      return retry;
    }
  }

  /** Whether the response ended: the server ended it, the connection broke or it was closed. */
  public boolean ended() {
    synchronized (lock) {
      return ended;
    }
  }

  /** Why the body ended other than by its end (a broken connection), or null. */
  public Throwable failure() {
    synchronized (lock) {
      return failure;
    }
  }

  /** Waits until at least {@code n} events arrived; returns the events then. */
  public List<Event> awaitEvents(int n, Duration timeout) {
    await(() -> eventCount >= n, timeout, n + " events");
    return events();
  }

  /** Waits until at least {@code n} events of {@code type} arrived; returns those. */
  public List<Event> awaitEvents(String type, int n, Duration timeout) {
    await(() -> count(type) >= n, timeout, n + " events of type " + type);
    return events(type);
  }

  /** Waits for the first event of {@code type}. */
  public Event awaitEvent(String type, Duration timeout) {
    return awaitEvents(type, 1, timeout).get(0);
  }

  /** Waits until at least {@code n} comment lines arrived. */
  public void awaitComments(int n, Duration timeout) {
    await(() -> comments >= n, timeout, n + " comments");
  }

  /** Waits until the response ended. */
  public void awaitEnd(Duration timeout) {
    await(() -> ended, timeout, "the end of the response");
  }

  private int count(String type) { // under lock
    int n = 0;
    for (Event e : events) {
      if (e.type().equals(type)) {
        n++;
      }
    }
    return n;
  }

  private void await(BooleanSupplier done, Duration timeout, String what) {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (lock) {
      while (!done.getAsBoolean()) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          throw new IllegalStateException("no " + what + " within " + timeout + " from " + uri
              + " (status " + response.statusCode() + (ended ? ", ended" : "") + "); got:\n"
              + abbreviate(raw));
        }
        try {
          lock.wait(Math.max(1, left / 1_000_000));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException("interrupted while waiting for " + what, e);
        }
      }
    }
  }

  private static String abbreviate(CharSequence s) {
    return s.length() <= 4000 ? s.toString()
        : s.subSequence(0, 2000) + "\n[...]\n" + s.subSequence(s.length() - 2000, s.length());
  }

  /** Closes the connection; the response counts as ended. */
  @Override
  public void close() {
    closed = true;
    Flow.Subscription s = subscription;
    if (s != null) {
      s.cancel();
    }
    end(null);
  }

  private void end(Throwable t) {
    synchronized (lock) {
      if (!ended) {
        ended = true;
        failure = t;
      }
      lock.notifyAll();
    }
  }

  // ---- parsing ----

  private void feed(CharSequence chars) {
    if (recording) {
      synchronized (lock) {
        raw.append(chars);
      }
    }
    for (int i = 0; i < chars.length(); i++) {
      char c = chars.charAt(i);
      if (c == '\n' && afterCr) {
        afterCr = false; // the LF of a CR LF
        continue;
      }
      afterCr = c == '\r';
      if (c == '\r' || c == '\n') {
        line(line.toString());
        line.setLength(0);
      } else {
        line.append(c);
      }
    }
  }

  private void line(String l) {
    if (l.isEmpty()) {
      dispatch();
      return;
    }
    if (l.charAt(0) == ':') {
      synchronized (lock) {
        comments++;
        lock.notifyAll();
      }
      return;
    }
    int colon = l.indexOf(':');
    String field = colon < 0 ? l : l.substring(0, colon);
    String value = colon < 0 ? "" : l.substring(colon + 1);
    if (value.startsWith(" ")) {
      value = value.substring(1);
    }
    switch (field) {
      case "event" -> type = value;
      case "data" -> {
        if (data == null) {
          data = new StringBuilder(value);
        } else {
          data.append('\n').append(value);
        }
      }
      case "id" -> {
        if (value.indexOf('\0') < 0) {
          id = value;
          idBuffer = value;
        }
      }
      case "retry" -> {
        if (!value.isEmpty() && value.chars().allMatch(Character::isDigit)) {
          try {
            synchronized (lock) {
              retry = Integer.valueOf(value);
            }
          } catch (NumberFormatException tooLong) {
            // ignored, as an EventSource does
          }
        }
      }
      default -> {
        // unknown fields are ignored
      }
    }
  }

  private void dispatch() {
    synchronized (lock) {
      lastEventId = idBuffer; // an EventSource's rule: even when no event is dispatched
    }
    Event e = data == null ? null : new Event(type == null ? "message" : type, id,
        data.toString());
    type = null;
    id = null;
    data = null;
    if (e == null) {
      return; // no data: no event (an id field still moved the last event id)
    }
    synchronized (lock) {
      eventCount++;
      if (recording) {
        events.add(e);
      }
      lock.notifyAll();
    }
    if (listener != null) {
      listener.accept(e);
    }
  }

  /** The body, parsed as it arrives. */
  private final class Body implements HttpResponse.BodySubscriber<Void> {
    private final CharBuffer chars = CharBuffer.allocate(8192);
    private ByteBuffer carry;

    @Override
    public CompletionStage<Void> getBody() {
      return CompletableFuture.completedFuture(null); // the response is in with its headers
    }

    @Override
    public void onSubscribe(Flow.Subscription s) {
      subscription = s;
      if (closed) {
        s.cancel();
      } else {
        s.request(Long.MAX_VALUE);
      }
    }

    @Override
    public void onNext(List<ByteBuffer> buffers) {
      for (ByteBuffer b : buffers) {
        decode(b, false);
      }
    }

    private void decode(ByteBuffer bytes, boolean last) {
      ByteBuffer b = bytes;
      if (carry != null) { // the start of a character the last buffer split
        b = ByteBuffer.allocate(carry.remaining() + bytes.remaining()).put(carry).put(bytes)
            .flip();
        carry = null;
      }
      while (true) {
        var result = decoder.decode(b, chars, last);
        chars.flip();
        feed(chars);
        chars.clear();
        if (!result.isOverflow()) {
          break;
        }
      }
      if (b.hasRemaining()) {
        carry = ByteBuffer.allocate(b.remaining()).put(b).flip();
      }
    }

    @Override
    public void onError(Throwable t) {
      end(t);
    }

    @Override
    public void onComplete() {
      decode(ByteBuffer.allocate(0), true);
      decoder.flush(chars);
      chars.flip();
      feed(chars);
      end(null);
    }
  }
}
