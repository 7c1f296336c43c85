package dev.fanout.protocol;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * One HTTP/1.1 request over a plain socket, written byte for byte as a test gives it (raw CR LF,
 * bad percent-encoding, huge headers: what no HTTP client library sends), and its answer read as
 * far as a test asks, or not at all: a client that stops reading.
 */
final class RawRequest implements AutoCloseable {
  private final Socket socket;
  private final InputStream in;
  private final ByteArrayOutputStream received = new ByteArrayOutputStream(); // under this
  private volatile boolean eof;
  private volatile Thread reader;

  private RawRequest(Socket socket) throws IOException {
    this.socket = socket;
    this.in = socket.getInputStream();
  }

  /**
   * Connects to {@code uri}'s host and port and sends {@code GET <target>} with {@code
   * headers} (each a complete line without its CR LF, or several joined by CR LF).
   *
   * @param receiveBuffer the socket's receive buffer in bytes, or 0 for the system's
   */
  static RawRequest get(URI uri, String target, int receiveBuffer, String... headers)
      throws IOException {
    Socket s = new Socket();
    if (receiveBuffer > 0) {
      s.setReceiveBufferSize(receiveBuffer);
    }
    s.connect(new InetSocketAddress(uri.getHost(), uri.getPort()), 5000);
    StringBuilder req = new StringBuilder("GET ").append(target).append(" HTTP/1.1\r\n")
        .append("Host: ").append(uri.getHost()).append(':').append(uri.getPort()).append("\r\n");
    for (String h : headers) {
      req.append(h).append("\r\n");
    }
    req.append("\r\n");
    RawRequest r = new RawRequest(s);
    try {
      s.getOutputStream().write(req.toString().getBytes(StandardCharsets.ISO_8859_1));
      s.getOutputStream().flush();
    } catch (IOException e) { // the server may answer and close before reading it all
      r.eof = true;
    }
    return r;
  }

  static RawRequest get(URI uri, String target, String... headers) throws IOException {
    return get(uri, target, 0, headers);
  }

  /** Reads on a thread of its own from now on, until the end or {@link #close}. */
  RawRequest startReading() {
    Thread t = new Thread(() -> {
      try {
        socket.setSoTimeout(0);
        byte[] buf = new byte[65536];
        int n;
        while ((n = in.read(buf)) >= 0) {
          synchronized (this) {
            received.write(buf, 0, n);
          }
        }
      } catch (IOException e) {
        // reset, or closed by the test: the end either way
      }
      eof = true;
    }, "raw-http-reader");
    t.setDaemon(true);
    reader = t;
    t.start();
    return this;
  }

  /** Reads until the end of the response's head; returns it, or what came before the end. */
  String head(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      String all = text();
      int end = all.indexOf("\r\n\r\n");
      if (end >= 0) {
        return all.substring(0, end + 2);
      }
      if (eof) {
        return all;
      }
      readSome(deadline, timeout);
    }
  }

  /** The response's status (-1 when the server closed without an answer). */
  int status(Duration timeout) {
    String head = head(timeout);
    if (!head.startsWith("HTTP/1.")) {
      return -1;
    }
    return Integer.parseInt(head.substring(9, 12));
  }

  /**
   * Reads until the server ends the connection (EOF or reset); false when it did not in time.
   * Not once {@link #startReading}: await {@link #ended} then.
   */
  boolean ends(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!eof) {
      if (System.nanoTime() >= deadline) {
        return false;
      }
      try {
        readSome(deadline, timeout);
      } catch (IllegalStateException late) {
        return false;
      }
    }
    return true;
  }

  /** Whether the server ended the connection, as far as read. */
  boolean ended() {
    return eof;
  }

  private void readSome(long deadline, Duration timeout) {
    if (reader != null) {
      throw new IllegalStateException("a thread reads: await text(), body() or ended()");
    }
    long left = deadline - System.nanoTime();
    if (left <= 0) {
      throw new IllegalStateException("no answer within " + timeout + "; got: " + text());
    }
    try {
      socket.setSoTimeout((int) Math.max(1, left / 1_000_000));
      byte[] buf = new byte[65536];
      int n = in.read(buf);
      if (n < 0) {
        eof = true;
      } else {
        synchronized (this) {
          received.write(buf, 0, n);
        }
      }
    } catch (SocketTimeoutException e) {
      // checked again above
    } catch (IOException e) {
      eof = true; // a reset
    }
  }

  /** Everything received so far, as ISO-8859-1 (one char a byte). */
  synchronized String text() {
    return received.toString(StandardCharsets.ISO_8859_1);
  }

  /** The body received so far, de-chunked when it is chunked (an incomplete chunk left out). */
  String body() {
    String all = text();
    int end = all.indexOf("\r\n\r\n");
    if (end < 0) {
      return "";
    }
    String head = all.substring(0, end).toLowerCase();
    String rest = all.substring(end + 4);
    if (!head.contains("transfer-encoding: chunked")) {
      return new String(rest.getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8);
    }
    StringBuilder body = new StringBuilder();
    int i = 0;
    while (true) {
      int eol = rest.indexOf("\r\n", i);
      if (eol < 0) {
        break;
      }
      String size = rest.substring(i, eol);
      int semi = size.indexOf(';');
      int n = Integer.parseInt((semi < 0 ? size : size.substring(0, semi)).trim(), 16);
      if (n == 0 || eol + 2 + n > rest.length()) {
        break;
      }
      body.append(rest, eol + 2, eol + 2 + n);
      i = eol + 2 + n + 2;
    }
    return new String(body.toString().getBytes(StandardCharsets.ISO_8859_1),
        StandardCharsets.UTF_8);
  }

  @Override
  public void close() {
    try {
      socket.close();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
