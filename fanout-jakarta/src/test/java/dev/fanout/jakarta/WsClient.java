package dev.fanout.jakarta;

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
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;

/**
 * A recorder-style WebSocket test client (JDK HttpClient): records every server frame, unpacks
 * {@code batch} frames into events, and can stop reading to play a stalled client.
 */
final class WsClient implements WebSocket.Listener, AutoCloseable {
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  final BlockingQueue<JsonObject> frames = new LinkedBlockingQueue<>();
  final List<JsonObject> events = Collections.synchronizedList(new ArrayList<>());
  final CompletableFuture<int[]> closed = new CompletableFuture<>();
  volatile String closeReason;
  private final StringBuilder partial = new StringBuilder();
  private volatile boolean stalled;
  private volatile WebSocket socket;

  static WsClient connect(URI uri) throws Exception {
    return connect(uri, Map.of());
  }

  static WsClient connect(URI uri, Map<String, String> headers) throws Exception {
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
      JsonObject frame = JsonParser.parseString(partial.toString()).getAsJsonObject();
      partial.setLength(0);
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
    closed.complete(new int[] {statusCode});
    return null;
  }

  @Override
  public void onError(WebSocket webSocket, Throwable error) {
    closed.complete(new int[] {1006});
  }

  /** Stops reading: the server's writes back up into the socket buffers. */
  void stall() {
    stalled = true;
  }

  /** Reads again. */
  void resume() {
    stalled = false;
    socket.request(1);
  }

  void send(String text) {
    socket.sendText(text, true).join();
  }

  /** Sends unless the connection is already closed; false when it is. */
  boolean trySend(String text) {
    try {
      socket.sendText(text, true).join();
      return true;
    } catch (RuntimeException e) {
      return false;
    }
  }

  void sendBinary(byte[] bytes) {
    socket.sendBinary(ByteBuffer.wrap(bytes), true).join();
  }

  void subscribe(String json) {
    send(json);
  }

  /** The next frame matching {@code which}, skipping others; fails after 10 s. */
  JsonObject next(Predicate<JsonObject> which) throws InterruptedException {
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

  JsonObject nextOfType(String type) throws InterruptedException {
    return next(f -> f.get("type").getAsString().equals(type));
  }

  List<String> eventIds() {
    synchronized (events) {
      List<String> ids = new ArrayList<>();
      for (JsonObject e : events) {
        ids.add(e.get("id").getAsString());
      }
      return ids;
    }
  }

  List<JsonObject> eventsSnapshot() {
    synchronized (events) {
      return new ArrayList<>(events);
    }
  }

  /** Waits for the server's close and returns its code. */
  int awaitClose() throws InterruptedException, ExecutionException, TimeoutException {
    return closed.get(15, TimeUnit.SECONDS)[0];
  }

  void assertOpen() {
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
