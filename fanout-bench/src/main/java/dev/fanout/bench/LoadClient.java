package dev.fanout.bench;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * One simulated dashboard: subscribes to one merchant (or all), reads every frame, and hands
 * each event to the {@link Tally}. On {@link #reconnect} it resumes from the last event it saw,
 * as fanout-client.js does. Frames are scanned, not parsed: the generator must stay cheap.
 */
final class LoadClient implements WebSocket.Listener {
  private final HttpClient http;
  private final URI uri;
  private final String merchant; // null = all
  private final Tally tally;
  private final StringBuilder partial = new StringBuilder();
  private volatile WebSocket socket;
  volatile String lastEventId;
  volatile long lastSeq;
  volatile CompletableFuture<Boolean> subscribed = new CompletableFuture<>(); // recovered?

  LoadClient(HttpClient http, URI uri, String merchant, Tally tally) {
    this.http = http;
    this.uri = uri;
    this.merchant = merchant;
    this.tally = tally;
  }

  CompletableFuture<WebSocket> connect() {
    subscribed = new CompletableFuture<>();
    return http.newWebSocketBuilder().connectTimeout(Duration.ofSeconds(30)).buildAsync(uri, this);
  }

  /** Drops the connection without a close handshake, as a network failure would. */
  void drop() {
    WebSocket s = socket;
    if (s != null) {
      s.abort();
    }
  }

  @Override
  public void onOpen(WebSocket ws) {
    socket = ws;
    String resume = lastEventId == null ? "" : ",\"lastEventId\":\"" + lastEventId + "\"";
    ws.sendText("{\"type\":\"subscribe\",\"merchants\":["
        + (merchant == null ? "" : "\"" + merchant + "\"") + "]" + resume + "}", true);
    ws.request(1);
  }

  @Override
  public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
    partial.append(data);
    if (last) {
      scan(partial);
      partial.setLength(0);
    }
    ws.request(1);
    return null;
  }

  private void scan(CharSequence f) {
    String s = f.toString();
    if (s.startsWith("{\"type\":\"subscribed\"")) {
      subscribed.complete(s.contains("\"recovered\":true"));
      return;
    }
    int at = 0;
    long now = Tally.nowMicros();
    while ((at = s.indexOf("\"id\":\"", at)) >= 0) {
      int idStart = at + 6;
      int idEnd = s.indexOf('"', idStart);
      int colon = s.lastIndexOf(':', idEnd);
      long seq = Long.parseLong(s, colon + 1, idEnd, 10);
      int p = s.indexOf("\"publishedAtMicros\":", idEnd);
      long published = 0;
      if (p > 0) {
        int v = p + 20;
        int e = v;
        while (e < s.length() && Character.isDigit(s.charAt(e))) {
          e++;
        }
        published = Long.parseLong(s, v, e, 10);
      }
      tally.received(seq, lastSeq, published, now);
      if (seq > lastSeq) {
        lastSeq = seq;
      }
      lastEventId = s.substring(idStart, idEnd);
      at = idEnd;
    }
  }

  @Override
  public CompletionStage<?> onClose(WebSocket ws, int code, String reason) {
    tally.closed(code);
    subscribed.completeExceptionally(new IOException("closed " + code + " before subscribed"));
    return null;
  }

  @Override
  public void onError(WebSocket ws, Throwable error) {
    tally.closed(1006);
    subscribed.completeExceptionally(error);
  }
}
