package dev.fanout.jwt;

import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A JWKS endpoint on a free loopback port (the JDK's HTTP server): serves the keys the test
 * sets, counts the requests, and can fail (503) or hang until released.
 */
final class JwksServer implements AutoCloseable {
  private final HttpServer server;
  private final AtomicInteger hits = new AtomicInteger();
  private volatile String body = new JWKSet().toString();
  private volatile boolean failing;
  private volatile CountDownLatch hang; // null: answer at once

  JwksServer() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.setExecutor(Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "jwks-server");
      t.setDaemon(true);
      return t;
    }));
    server.createContext("/jwks.json", exchange -> {
      hits.incrementAndGet();
      CountDownLatch h = hang;
      if (h != null) {
        try {
          h.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      byte[] b = (failing ? "{\"error\":\"down\"}" : body).getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().set("Content-Type", "application/json");
      exchange.sendResponseHeaders(failing ? 503 : 200, b.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(b);
      }
    });
    server.start();
  }

  URI url() {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/jwks.json");
  }

  /** From now on the endpoint serves these keys (public parts). */
  void serve(JWK... keys) {
    body = new JWKSet(List.of(keys)).toString(true);
  }

  /** From now on the endpoint serves this text as it is. */
  void serveRaw(String text) {
    body = text;
  }

  /** Answers 503 while true. */
  void failing(boolean failing) {
    this.failing = failing;
  }

  /** From now on requests hang until {@link #release()}. */
  void hang() {
    hang = new CountDownLatch(1);
  }

  void release() {
    CountDownLatch h = hang;
    hang = null;
    if (h != null) {
      h.countDown();
    }
  }

  /** Requests received so far. */
  int hits() {
    return hits.get();
  }

  /** Stops listening: the endpoint is down (connections refused). */
  @Override
  public void close() {
    release();
    server.stop(0);
  }
}
