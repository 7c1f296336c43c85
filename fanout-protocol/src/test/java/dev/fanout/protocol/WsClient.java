package dev.fanout.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;

/**
 * A recorder-style WebSocket test client (JDK HttpClient): records every server frame, unpacks
 * {@code batch} frames into events, and can stop reading to play a stalled client.
 */
public final class WsClient implements WebSocket.Listener, AutoCloseable {
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  public final BlockingQueue<JsonObject> frames = new LinkedBlockingQueue<>();
  public final List<JsonObject> events = Collections.synchronizedList(new ArrayList<>());
  /** Every text frame as received, parseable or not. */
  public final List<String> texts = new CopyOnWriteArrayList<>();
  /** Completes with the close code (1006 when the connection failed). */
  public final CompletableFuture<Integer> closed = new CompletableFuture<>();
  public volatile String closeReason;
  private final StringBuilder partial = new StringBuilder();
  private volatile boolean stalled;
  private volatile WebSocket socket;

  public static WsClient connect(URI uri) throws Exception {
    return connect(uri, Map.of());
  }

  public static WsClient connect(URI uri, Map<String, String> headers) throws Exception {
    WsClient client = new WsClient();
    WebSocket.Builder b = HTTP.newWebSocketBuilder().connectTimeout(Duration.ofSeconds(5));
    headers.forEach(b::header);
    client.socket = b.buildAsync(uri, client).get(10, TimeUnit.SECONDS);
    return client;
  }

  @Override
  public void onOpen(WebSocket webSocket) {
    webSocket.request(1);
  }

  @Override
  public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
    partial.append(data);
    if (last) {
      String text = partial.toString();
      partial.setLength(0);
      texts.add(text);
      JsonObject frame;
      try {
        frame = JsonParser.parseString(text).getAsJsonObject();
      } catch (RuntimeException notAJsonObject) { // kept in texts, for tests that check frames
        if (!stalled) {
          webSocket.request(1);
        }
        return null;
      }
      String type = frame.get("type").getAsString();
      if (type.equals("event")) {
        events.add(frame);
      } else if (type.equals("batch")) {
        for (JsonElement e : frame.getAsJsonArray("events")) {
          events.add(e.getAsJsonObject());
        }
      }
      frames.add(frame);
    }
    if (!stalled) {
      webSocket.request(1);
    }
    return null;
  }

  @Override
  public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
    closeReason = reason;
    closed.complete(statusCode);
    return null;
  }

  @Override
  public void onError(WebSocket webSocket, Throwable error) {
    closed.complete(1006);
  }

  /** Stops reading: the server's writes back up into the socket buffers. */
  public void stall() {
    stalled = true;
  }

  /** Reads again. */
  public void resume() {
    stalled = false;
    socket.request(1);
  }

  public void send(String text) {
    socket.sendText(text, true).join();
  }

  /** Sends unless the connection is already closed; false when it is. */
  public boolean trySend(String text) {
    try {
      socket.sendText(text, true).join();
      return true;
    } catch (RuntimeException e) {
      return false;
    }
  }

  public void sendBinary(byte[] bytes) {
    socket.sendBinary(ByteBuffer.wrap(bytes), true).join();
  }

  public void subscribe(String json) {
    send(json);
  }

  /** The next frame matching {@code which}, skipping others; fails after 10 s. */
  public JsonObject next(Predicate<JsonObject> which) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (true) {
      long left = deadline - System.nanoTime();
      JsonObject f = frames.poll(Math.max(0, left), TimeUnit.NANOSECONDS);
      if (f == null) {
        throw new AssertionError("no matching frame within 10 s; events so far: " + events.size());
      }
      if (which.test(f)) {
        return f;
      }
    }
  }

  public JsonObject nextOfType(String type) throws InterruptedException {
    return next(f -> f.get("type").getAsString().equals(type));
  }

  public List<String> eventIds() {
    synchronized (events) {
      List<String> ids = new ArrayList<>();
      for (JsonObject e : events) {
        ids.add(e.get("id").getAsString());
      }
      return ids;
    }
  }

  /** The string field {@code field} of every event's data, in order (absent ones skipped). */
  public List<String> dataValues(String field) {
    List<String> out = new ArrayList<>();
    for (JsonObject e : eventsSnapshot()) {
      JsonElement data = e.get("data");
      if (data != null && data.isJsonObject() && data.getAsJsonObject().has(field)) {
        out.add(data.getAsJsonObject().get(field).getAsString());
      }
    }
    return out;
  }

  /** Whether any frame received so far contains {@code fragment}. */
  public boolean sawFrame(String fragment) {
    return texts.stream().anyMatch(f -> f.contains(fragment));
  }

  public List<JsonObject> eventsSnapshot() {
    synchronized (events) {
      return new ArrayList<>(events);
    }
  }

  /** Waits for the server's close and returns its code. */
  public int awaitClose() throws InterruptedException, ExecutionException, TimeoutException {
    return closed.get(15, TimeUnit.SECONDS);
  }

  /** Whether the server has not closed this client. */
  public boolean isOpen() {
    return !closed.isDone();
  }

  public void assertOpen() {
    assertThat(closed).isNotDone();
  }

  @Override
  public void close() {
    if (!closed.isDone()) {
      socket.sendClose(1000, "bye");
      socket.abort();
    }
  }
}
