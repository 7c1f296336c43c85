package dev.fanout.example;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A minimal WebSocket client for server tests: records text frames and the close code. */
final class WsProbe implements WebSocket.Listener, AutoCloseable {
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final Pattern EVENT_ID = Pattern.compile("\"type\":\"event\",\"id\":\"([^\"]+)\"");
  private static final Pattern MERCHANT = Pattern.compile("\"merchantId\":\"([^\"]+)\"");

  final List<String> frames = new CopyOnWriteArrayList<>();
  final CompletableFuture<Integer> closed = new CompletableFuture<>();
  private final StringBuilder partial = new StringBuilder();
  private WebSocket socket;

  static WsProbe connect(URI uri) throws Exception {
    return connect(uri, Map.of());
  }

  static WsProbe connect(URI uri, Map<String, String> headers) throws Exception {
    WsProbe p = new WsProbe();
    WebSocket.Builder b = HTTP.newWebSocketBuilder().connectTimeout(Duration.ofSeconds(5));
    headers.forEach(b::header);
    p.socket = b.buildAsync(uri, p).get(10, TimeUnit.SECONDS);
    return p;
  }

  @Override
  public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
    partial.append(data);
    if (last) {
      frames.add(partial.toString());
      partial.setLength(0);
    }
    ws.request(1);
    return null;
  }

  @Override
  public CompletionStage<?> onClose(WebSocket ws, int code, String reason) {
    closed.complete(code);
    return null;
  }

  @Override
  public void onError(WebSocket ws, Throwable error) {
    closed.complete(1006);
  }

  void send(String text) {
    socket.sendText(text, true).join();
  }

  /** Sends unless already closed; false when the send failed. */
  boolean trySend(String text) {
    try {
      socket.sendText(text, true).join();
      return true;
    } catch (RuntimeException e) {
      return false;
    }
  }

  List<String> eventIds() {
    return all(EVENT_ID);
  }

  List<String> merchants() {
    return all(MERCHANT);
  }

  private List<String> all(Pattern p) {
    List<String> out = new CopyOnWriteArrayList<>();
    for (String f : frames) {
      Matcher m = p.matcher(f);
      while (m.find()) {
        out.add(m.group(1));
      }
    }
    return out;
  }

  boolean sawFrame(String fragment) {
    return frames.stream().anyMatch(f -> f.contains(fragment));
  }

  @Override
  public void close() {
    if (!closed.isDone()) {
      socket.sendClose(1000, "bye");
      socket.abort();
    }
  }
}
