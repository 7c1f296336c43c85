package dev.fanout.example;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Warms a freshly started node before it reports ready: a few rounds of loopback WebSocket
 * connections that handshake, subscribe to a topic nobody publishes and close, so the JIT has
 * compiled the handshake and subscribe path before the first real burst (a deploy is exactly
 * when a cold node meets every dashboard at once; docs/benchmarks.md measures the difference).
 * Best effort: failures are logged and the node becomes ready anyway.
 */
final class Warmup {
  private static final Logger log = LoggerFactory.getLogger(Warmup.class);
  static final int ROUNDS = 3;
  private static final String SUBSCRIBE = "{\"type\":\"subscribe\",\"topics\":[\"__warmup\"]}";

  private Warmup() {}

  /**
   * Runs {@link #ROUNDS} rounds of {@code connections} connections, sending {@code origin} (or
   * none when null); returns how long it took.
   */
  static Duration run(URI ws, String origin, int connections) {
    long t0 = System.nanoTime();
    HttpClient http = HttpClient.newHttpClient();
    int answered = 0;
    for (int round = 0; round < ROUNDS; round++) {
      List<CompletableFuture<WebSocket>> subscribed = new ArrayList<>(connections);
      for (int i = 0; i < connections; i++) {
        CompletableFuture<WebSocket> done = new CompletableFuture<>();
        WebSocket.Builder b = http.newWebSocketBuilder().connectTimeout(Duration.ofSeconds(10));
        if (origin != null) {
          b.header("Origin", origin);
        }
        b.buildAsync(ws, new Listener(done))
            .whenComplete((socket, failure) -> {
              if (failure != null) {
                done.completeExceptionally(failure);
              } else {
                socket.sendText(SUBSCRIBE, true);
              }
            });
        subscribed.add(done);
      }
      for (CompletableFuture<WebSocket> s : subscribed) {
        try {
          WebSocket socket = s.get(30, TimeUnit.SECONDS);
          answered++;
          socket.sendClose(WebSocket.NORMAL_CLOSURE, "warm").whenComplete((x, e) -> socket.abort());
        } catch (Exception e) {
          log.debug("warm-up connection failed", e);
        }
      }
    }
    Duration took = Duration.ofNanos(System.nanoTime() - t0);
    log.info("warmed up: {} of {} loopback subscribes answered in {} ms", answered,
        ROUNDS * connections, took.toMillis());
    return took;
  }

  /** Completes once the server answers the subscribe. */
  private static final class Listener implements WebSocket.Listener {
    private final CompletableFuture<WebSocket> subscribed;

    Listener(CompletableFuture<WebSocket> subscribed) {
      this.subscribed = subscribed;
    }

    @Override
    public CompletionStage<?> onText(WebSocket socket, CharSequence data, boolean last) {
      if (data.toString().contains("\"subscribed\"")) {
        subscribed.complete(socket);
      }
      socket.request(1);
      return null;
    }

    @Override
    public CompletionStage<?> onClose(WebSocket socket, int code, String reason) {
      subscribed.completeExceptionally(new IllegalStateException("closed " + code));
      return null;
    }

    @Override
    public void onError(WebSocket socket, Throwable error) {
      subscribed.completeExceptionally(error);
    }
  }
}
