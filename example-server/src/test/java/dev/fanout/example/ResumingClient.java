package dev.fanout.example;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A dashboard as fanout-client.js behaves, in Java, for reliability tests: connects to a random
 * node, subscribes to its merchants, reconnects with backoff and jitter after any close or drop,
 * resumes by fanout-client.js's rule (the last event it processed, or the server's position once
 * its replay arrived, whichever is newer), and records what it saw in segments (a segment
 * restarts whenever the server says the client must rebuild its state).
 */
final class ResumingClient implements WebSocket.Listener {
  /** Wall-clock microseconds, comparable across processes on one machine. */
  static final class Clock {
    static long nowMicros() {
      Instant now = Instant.now();
      return now.getEpochSecond() * 1_000_000 + now.getNano() / 1000;
    }
  }

  /** One event as received: its id, merchant, and receive-minus-publish latency in micros. */
  record Received(String id, String merchant, long latencyMicros) {}

  private final HttpClient http;
  private final ScheduledExecutorService timer;
  private final List<URI> nodes;
  private final Random random;
  final Set<String> merchants; // empty = all
  private final String subscribeJson;

  private final Object lock = new Object();
  private final List<List<Received>> segments = new ArrayList<>(); // guarded by lock
  private final List<String> resets = new ArrayList<>(); // guarded by lock
  private final ArrayDeque<Boolean> pending = new ArrayDeque<>(); // guarded by lock
  private final List<Long> latencies = new ArrayList<>(); // guarded by lock
  private final StringBuilder partial = new StringBuilder();
  private volatile String lastEventId;
  // fanout-client.js's resume rule: the position of the latest 'subscribed' counts once the
  // 'replay' events that follow it arrived, and not after a 'dropped'. Guarded by lock.
  private String position;
  private String pendingPosition;
  private int pendingReplay;
  private volatile WebSocket socket;
  private volatile boolean running;
  private volatile boolean reading = true;
  private int attempt;
  final Map<Integer, AtomicInteger> closes = new ConcurrentHashMap<>();
  final AtomicInteger connects = new AtomicInteger();

  ResumingClient(HttpClient http, ScheduledExecutorService timer, List<URI> nodes, long seed,
      Set<String> merchants) {
    this.http = http;
    this.timer = timer;
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
    WebSocket s = socket;
    if (s != null) {
      s.abort();
    }
  }

  /** A network drop: the socket dies without a close handshake; the client reconnects. */
  void drop() {
    WebSocket s = socket;
    if (s != null && running) {
      socket = null;
      s.abort();
      reconnectLater(1006);
    }
  }

  /** Stops reading from the socket (a stalled page), or reads again. */
  void reading(boolean on) {
    reading = on;
    WebSocket s = socket;
    if (on && s != null) {
      s.request(1);
    }
  }

  private void connect() {
    if (!running) {
      return;
    }
    URI node = nodes.get(random.nextInt(nodes.size()));
    http.newWebSocketBuilder().connectTimeout(Duration.ofSeconds(5)).buildAsync(node, this)
        .whenComplete((ws, failure) -> {
          if (failure != null) {
            reconnectLater(-1);
          }
        });
  }

  private void reconnectLater(int code) {
    closes.computeIfAbsent(code, k -> new AtomicInteger()).incrementAndGet();
    if (!running) {
      return;
    }
    long ceiling;
    synchronized (lock) {
      pending.clear();
      ceiling = Math.min(2000, 100L << Math.min(attempt++, 5));
    }
    long delay = ceiling / 2 + random.nextInt((int) (ceiling / 2) + 1); // equal jitter
    timer.schedule(this::connect, delay, TimeUnit.MILLISECONDS);
  }

  @Override
  public void onOpen(WebSocket ws) {
    socket = ws;
    connects.incrementAndGet();
    String from;
    synchronized (lock) {
      from = resumeFrom();
      attempt = 0;
      pending.add(from != null);
    }
    ws.sendText(from != null ? subscribeJson + ",\"lastEventId\":\"" + from + "\"}"
        : subscribeJson + "}", true);
    ws.request(1);
  }

  @Override
  public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
    partial.append(data);
    if (last) {
      handle(JsonParser.parseString(partial.toString()).getAsJsonObject());
      partial.setLength(0);
    }
    if (reading) {
      ws.request(1);
    }
    return null;
  }

  private void handle(JsonObject frame) {
    long now = Clock.nowMicros();
    switch (frame.get("type").getAsString()) {
      case "event":
        record(frame, now);
        break;
      case "batch":
        JsonArray events = frame.getAsJsonArray("events");
        for (JsonElement e : events) {
          record(e.getAsJsonObject(), now);
        }
        break;
      case "subscribed":
        synchronized (lock) {
          Boolean resumed = pending.poll();
          boolean recovered = frame.get("recovered").getAsBoolean();
          boolean nothingYet = segments.isEmpty() || segments.get(segments.size() - 1).isEmpty();
          if (resumed != null && !resumed && nothingYet) {
            // a first subscribe, or a reconnect before any event arrived: nothing to rebuild
            if (segments.isEmpty()) {
              segments.add(new ArrayList<>());
            }
          } else if (!recovered || (resumed != null && !resumed)) {
            // (an unsolicited 'subscribed' that recovered exactly goes on with the same state)
            resets.add(resumed == null ? "server-resync" : !resumed ? "fresh" : "not-recovered");
            segments.add(new ArrayList<>());
            lastEventId = null; // what follows rebuilds the view, and the resume point
          }
          position = null;
          pendingPosition = frame.has("position") ? frame.get("position").getAsString() : null;
          pendingReplay = frame.has("replay") ? frame.get("replay").getAsInt() : 0;
          adoptPositionIfReplayed();
        }
        break;
      case "dropped":
        synchronized (lock) {
          pendingPosition = null; // events are missing: resume from the last one received
        }
        break;
      default:
        break;
    }
  }

  private void record(JsonObject event, long nowMicros) {
    String id = event.get("id").getAsString();
    JsonObject data = event.getAsJsonObject("data");
    long published = data.has("publishedAtMicros") ? data.get("publishedAtMicros").getAsLong() : 0;
    synchronized (lock) {
      segments.get(segments.size() - 1).add(new Received(id,
          data.get("merchantId").getAsString(), published == 0 ? -1 : nowMicros - published));
      if (published != 0) {
        latencies.add(nowMicros - published);
      }
      lastEventId = id;
      if (pendingPosition != null) {
        pendingReplay--;
        adoptPositionIfReplayed();
      }
    }
  }

  private void adoptPositionIfReplayed() {
    if (pendingPosition != null && pendingReplay <= 0) {
      position = pendingPosition;
      pendingPosition = null;
    }
  }

  /**
   * Where a reconnect resumes from, as fanout-client.js decides: the last event received, or the
   * adopted position when it is newer in the same epoch; across epochs the last event received.
   */
  private String resumeFrom() {
    String last = lastEventId;
    if (last == null || position == null) {
      return last == null ? position : last;
    }
    String[] l = last.split(":");
    String[] p = position.split(":");
    if (!l[0].equals(p[0])) {
      return last;
    }
    return Long.parseLong(l[1]) >= Long.parseLong(p[1]) ? last : position;
  }

  @Override
  public CompletionStage<?> onClose(WebSocket ws, int code, String reason) {
    if (socket == ws) {
      socket = null;
      reconnectLater(code);
    }
    return null;
  }

  @Override
  public void onError(WebSocket ws, Throwable error) {
    if (socket == ws) {
      socket = null;
      reconnectLater(1006);
    }
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
    return lastEventId;
  }

  boolean wants(String merchant) {
    return merchants.isEmpty() || merchants.contains(merchant);
  }
}
