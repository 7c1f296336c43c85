package dev.fanout.example;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.fanout.client.ProtocolClient;
import dev.fanout.client.ResumePoint;
import dev.fanout.core.EventId;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.Flow;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A dashboard as fanout-client.js behaves, in Java, for reliability tests: connects to a random
 * node ({@link ProtocolClient}), subscribes to its merchants, reconnects with backoff and jitter
 * after any close or drop, resumes by the clients' one rule ({@link ResumePoint}), and records
 * what it saw in segments (a segment restarts whenever the server says the client must rebuild
 * its state). {@link #sse} makes it a browser's {@code EventSource} instead: {@code GET
 * /events?merchants=...}, resuming with {@code Last-Event-ID} by the EventSource's own rule (the
 * last {@code id:} field the stream sent), which is what the server's ids must make exact.
 */
final class Dashboard {
  /** Wall-clock microseconds, comparable across processes on one machine. */
  static final class Clock {
    static long nowMicros() {
      Instant now = Instant.now();
      return now.getEpochSecond() * 1_000_000 + now.getNano() / 1000;
    }
  }

  /** One event as received: its id, merchant, and receive-minus-publish latency in micros. */
  record Received(String id, String merchant, long latencyMicros) {}

  private final ScheduledExecutorService timer;
  private final Executor connecting; // runs the (blocking) connects
  private final List<URI> nodes;
  private final Random random;
  final Set<String> merchants; // empty = all
  private final String subscribeJson;

  private final Object lock = new Object();
  private final ResumePoint resume = new ResumePoint();
  private final List<List<Received>> segments = new ArrayList<>(); // guarded by lock
  private final List<String> resets = new ArrayList<>(); // guarded by lock
  private final List<Long> latencies = new ArrayList<>(); // guarded by lock
  private final Map<Integer, String> lastByPartition = new HashMap<>(); // guarded by lock
  private Link client; // guarded by lock: the current connection, or null
  private final boolean sse;
  private String sseLastId = ""; // guarded by lock: the EventSource's last event ID string
  private boolean sseResumed; // guarded by lock: the current stream sent a Last-Event-ID
  private int generation; // guarded by lock: which connection's frames and close still count
  private int attempt; // guarded by lock
  private volatile boolean running;
  private volatile boolean reading = true;
  final Map<Integer, AtomicInteger> closes = new ConcurrentHashMap<>();
  final AtomicInteger connects = new AtomicInteger();
  /** {@code subscribed} frames the client did not ask for: the server's own resyncs. */
  final AtomicInteger serverAnswers = new AtomicInteger();
  private int answersHere; // guarded by lock: subscribed frames on the current connection
  // guarded by lock: what the connections did (connects, answers, closes), the newest 64, for
  // a verdict that has to explain a gap
  private final ArrayDeque<String> journal = new ArrayDeque<>();

  /** What {@link #drop}, {@link #stop} and {@link #reading} act on: a WebSocket or a stream. */
  private interface Link {
    void abort();

    void stall();

    void resume();
  }

  private static final HttpClient HTTP = HttpClient.newBuilder()
      .version(HttpClient.Version.HTTP_1_1).build(); // a browser's streams: one connection each

  Dashboard(ScheduledExecutorService timer, Executor connecting, List<URI> nodes, long seed,
      Set<String> merchants) {
    this(timer, connecting, nodes, seed, merchants, false);
  }

  /** {@code sse}: {@code nodes} are {@code http://host:port/events} URLs. */
  Dashboard(ScheduledExecutorService timer, Executor connecting, List<URI> nodes, long seed,
      Set<String> merchants, boolean sse) {
    this.sse = sse;
    this.timer = timer;
    this.connecting = connecting;
    this.nodes = nodes;
    this.random = new Random(seed);
    this.merchants = merchants;
    StringBuilder json = new StringBuilder("{\"type\":\"subscribe\",\"merchants\":[");
    int i = 0;
    for (String m : merchants) {
      json.append(i++ == 0 ? "" : ",").append('"').append(m).append('"');
    }
    this.subscribeJson = json.append(']').toString();
  }

  void start() {
    running = true;
    connect();
  }

  void stop() {
    running = false;
    Link c;
    synchronized (lock) {
      generation++;
      c = client;
      client = null;
    }
    if (c != null) {
      c.abort();
    }
  }

  /** A network drop: the socket dies without a close handshake; the client reconnects. */
  void drop() {
    Link c;
    synchronized (lock) {
      c = client;
      if (c == null || !running) {
        return;
      }
      client = null;
      generation++;
      note("dropped" + (sse ? " last-event-id=" + sseLastId : ""));
    }
    c.abort();
    reconnectLater(1006);
  }

  /** Stops reading from the socket (a stalled page), or reads again. */
  void reading(boolean on) {
    reading = on;
    Link c;
    synchronized (lock) {
      c = client;
    }
    if (c != null) {
      if (on) {
        c.resume();
      } else {
        c.stall();
      }
    }
  }

  private void connect() {
    if (!running) {
      return;
    }
    URI node = nodes.get(random.nextInt(nodes.size()));
    connecting.execute(() -> {
      if (sse) {
        stream(node);
      } else {
        open(node);
      }
    });
  }

  /** A WebSocket as a {@link Link}. */
  private static Link link(ProtocolClient c) {
    return new Link() {
      @Override
      public void abort() {
        c.abort();
      }

      @Override
      public void stall() {
        c.stall();
      }

      @Override
      public void resume() {
        c.resume();
      }
    };
  }

  /** Opens the stream as an EventSource would, resuming with its last event ID. */
  private void stream(URI node) {
    int gen;
    String from;
    synchronized (lock) {
      gen = ++generation;
      from = sseLastId;
      sseResumed = !from.isEmpty();
      note("GET " + node + " Last-Event-ID=" + from);
    }
    StringBuilder query = new StringBuilder();
    if (!merchants.isEmpty()) {
      query.append("?merchants=").append(String.join(",", merchants));
    }
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(node + query.toString()))
        .header("Accept", "text/event-stream");
    if (!from.isEmpty()) {
      request.header("Last-Event-ID", from);
    }
    EventStream events = new EventStream(gen);
    HTTP.sendAsync(request.build(), info -> {
      if (info.statusCode() != 200 || !opened(gen, events)) {
        return HttpResponse.BodySubscribers.replacing(null);
      }
      return HttpResponse.BodySubscribers.fromLineSubscriber(events);
    }).whenComplete((r, failure) -> closed(gen, failure == null && r.statusCode() == 200
        ? 1000 : -1));
  }

  /** The stream answered 200: it is the current connection, unless stopped meanwhile. */
  private boolean opened(int gen, EventStream events) {
    synchronized (lock) {
      if (!running || gen != generation) {
        return false;
      }
      client = events;
      answersHere = 0;
      connects.incrementAndGet();
      attempt = 0;
      return true;
    }
  }

  /** One stream's lines as SSE events, by the EventSource's rules, handed on as frames. */
  private final class EventStream implements Flow.Subscriber<String>, Link {
    private final int gen;
    private final StringBuilder data = new StringBuilder();
    private volatile Flow.Subscription subscription;
    private volatile boolean aborted;
    private String idBuffer; // the last event ID buffer; null: as the last stream left it

    EventStream(int gen) {
      this.gen = gen;
    }

    @Override
    public void onSubscribe(Flow.Subscription s) {
      subscription = s;
      if (aborted) {
        s.cancel();
      } else {
        s.request(Long.MAX_VALUE);
      }
    }

    @Override
    public void onNext(String line) {
      if (line.isEmpty()) {
        dispatch();
      } else if (line.startsWith("data:")) {
        data.append(data.length() == 0 ? "" : "\n").append(field(line, 5));
      } else if (line.equals("id") || line.startsWith("id:")) {
        idBuffer = line.length() == 2 ? "" : field(line, 3);
      }
    }

    private String field(String line, int from) {
      return line.startsWith(" ", from) ? line.substring(from + 1) : line.substring(from);
    }

    private void dispatch() {
      String id = idBuffer;
      String frame = data.toString();
      data.setLength(0);
      JsonObject parsed = frame.isEmpty() ? null : JsonParser.parseString(frame).getAsJsonObject();
      synchronized (lock) { // the id and its event count together, or (dropped meanwhile) neither
        if (gen != generation) {
          return;
        }
        if (id != null) {
          sseLastId = id; // the buffer is not reset: it stays until the server sets it again
          if (parsed == null) {
            note("id without data: " + id);
          }
        }
        if (parsed != null) {
          handle(gen, parsed);
        }
      }
    }

    @Override
    public void onError(Throwable t) {
      // the response's future says so too: closed() there
    }

    @Override
    public void onComplete() {
      // as onError
    }

    @Override
    public void abort() {
      aborted = true;
      Flow.Subscription s = subscription;
      if (s != null) {
        s.cancel(); // the JDK closes the connection under an unfinished response
      }
    }

    @Override
    public void stall() {
      throw new UnsupportedOperationException("an SSE dashboard always reads");
    }

    @Override
    public void resume() {
      // always reading
    }
  }

  private void open(URI node) {
    int gen;
    synchronized (lock) {
      gen = ++generation;
    }
    ProtocolClient c;
    try {
      c = ProtocolClient.builder(node).recording(false).reading(reading)
          .onMessage(frame -> handle(gen, frame))
          .onClose(code -> closed(gen, code))
          .connect();
    } catch (IOException | RuntimeException e) {
      reconnectLater(-1);
      return;
    }
    synchronized (lock) {
      if (!running || gen != generation) { // stopped meanwhile
        c.abort();
        return;
      }
      client = link(c);
      answersHere = 0;
      connects.incrementAndGet();
      attempt = 0;
      String from = resume.subscribing();
      note("ws " + node + " lastEventId=" + from);
      try {
        c.send(from != null ? subscribeJson + ",\"lastEventId\":\"" + from + "\"}"
            : subscribeJson + "}");
      } catch (UncheckedIOException e) {
        // gone already: its close reconnects
      }
    }
  }

  private void closed(int gen, int code) {
    synchronized (lock) {
      if (gen != generation) {
        return; // dropped or replaced: already taken care of
      }
      generation++;
      client = null;
      note("closed " + code);
    }
    reconnectLater(code);
  }

  private void reconnectLater(int code) {
    closes.computeIfAbsent(code, k -> new AtomicInteger()).incrementAndGet();
    if (!running) {
      return;
    }
    long ceiling;
    synchronized (lock) {
      resume.disconnected();
      ceiling = Math.min(2000, 100L << Math.min(attempt++, 5));
    }
    long delay = ceiling / 2 + random.nextInt((int) (ceiling / 2) + 1); // equal jitter
    try {
      timer.schedule(this::connect, delay, TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException e) {
      // the rig is shutting down
    }
  }

  private void handle(int gen, JsonObject frame) {
    long now = Clock.nowMicros();
    synchronized (lock) {
      if (gen != generation) {
        return;
      }
      switch (frame.get("type").getAsString()) {
        case "event":
          record(frame, now);
          break;
        case "batch":
          for (JsonElement e : frame.getAsJsonArray("events")) {
            record(e.getAsJsonObject(), now);
          }
          break;
        case "subscribed": {
          note(frame + (sse ? " last-event-id=" + sseLastId : " last=" + resume.lastEventId()));
          if (++answersHere > 1) { // one subscribe per connection: the rest are the server's
            serverAnswers.incrementAndGet();
          }
          ResumePoint.Reset reset = resume.receive(frame);
          if (sse) { // the stream's Last-Event-ID, not the ResumePoint, is what it resumed with
            reset = frame.get("recovered").getAsBoolean() ? null
                : answersHere > 1 ? ResumePoint.Reset.SERVER_RESYNC
                : sseResumed ? ResumePoint.Reset.NOT_RECOVERED : ResumePoint.Reset.FRESH;
          }
          boolean nothingYet = segments.isEmpty() || segments.get(segments.size() - 1).isEmpty();
          if (reset == ResumePoint.Reset.FRESH && nothingYet) {
            // a first subscribe, or a reconnect before any event arrived: nothing to rebuild
            if (segments.isEmpty()) {
              segments.add(new ArrayList<>());
            }
          } else if (reset != null) {
            // (an unsolicited 'subscribed' that recovered exactly goes on with the same state)
            resets.add(reset.reason());
            segments.add(new ArrayList<>());
          }
          break;
        }
        default:
          resume.receive(frame); // 'dropped' counts for the resume point
          break;
      }
    }
  }

  private void record(JsonObject event, long nowMicros) {
    String id = event.get("id").getAsString();
    JsonObject data = event.getAsJsonObject("data");
    long published = data.has("publishedAtMicros") ? data.get("publishedAtMicros").getAsLong() : 0;
    segments.get(segments.size() - 1).add(new Received(id,
        data.get("merchantId").getAsString(), published == 0 ? -1 : nowMicros - published));
    if (published != 0) {
      latencies.add(nowMicros - published);
    }
    lastByPartition.put(EventId.parse(id).partition(), id);
    resume.event(id);
  }

  List<List<Received>> segments() {
    synchronized (lock) {
      List<List<Received>> copy = new ArrayList<>();
      segments.forEach(s -> copy.add(new ArrayList<>(s)));
      return copy;
    }
  }

  /** Times the server made this client rebuild its state (never on a first subscribe). */
  List<String> resets() {
    synchronized (lock) {
      return new ArrayList<>(resets);
    }
  }

  boolean isReading() {
    return reading;
  }

  /** Publish-to-receive latencies in microseconds, since the last clear. */
  List<Long> latencies() {
    synchronized (lock) {
      return new ArrayList<>(latencies);
    }
  }

  void clearLatencies() {
    synchronized (lock) {
      latencies.clear();
    }
  }

  /** Whether the server has answered a subscribe yet. */
  boolean subscribed() {
    synchronized (lock) {
      return !segments.isEmpty();
    }
  }

  String lastEventId() {
    return resume.lastEventId();
  }

  /** The last event received of {@code partition} (0 for ids that name none), or null. */
  String lastEventIdIn(int partition) {
    synchronized (lock) {
      return lastByPartition.get(partition);
    }
  }

  /** Adds to the journal (under lock). */
  private void note(String what) {
    if (journal.size() == 64) {
      journal.poll();
    }
    journal.add(Clock.nowMicros() / 1000 + " " + what);
  }

  /** The client's kind, merchants and journal, to explain a verdict. */
  String describe() {
    synchronized (lock) {
      return (sse ? "EventSource" : "WebSocket") + " merchants=" + merchants + " connects="
          + connects.get() + " closes=" + closes + "\n    " + String.join("\n    ", journal);
    }
  }

  boolean wants(String merchant) {
    return merchants.isEmpty() || merchants.contains(merchant);
  }
}
