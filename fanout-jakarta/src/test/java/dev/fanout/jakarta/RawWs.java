package dev.fanout.jakarta;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;

/**
 * A WebSocket handshake over a plain socket: shows the exact HTTP status of a refused upgrade, and
 * after a 101 plays a client that never reads and so never answers a ping.
 */
public final class RawWs implements AutoCloseable {
  /** Status reported when the server closed the connection without any response. */
  public static final int NO_RESPONSE = -1;

  final Socket socket;
  public final int status;

  private RawWs(Socket socket, int status) {
    this.socket = socket;
    this.status = status;
  }

  public static RawWs handshake(URI uri, Map<String, String> headers) throws IOException {
    Socket s = new Socket(uri.getHost(), uri.getPort());
    s.setSoTimeout(10_000);
    String path = uri.getRawPath() + (uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery());
    StringBuilder req = new StringBuilder()
        .append("GET ").append(path).append(" HTTP/1.1\r\n")
        .append("Host: ").append(uri.getHost()).append(':').append(uri.getPort()).append("\r\n")
        .append("Upgrade: websocket\r\nConnection: Upgrade\r\n")
        .append("Sec-WebSocket-Version: 13\r\n")
        .append("Sec-WebSocket-Key: ")
        .append(Base64.getEncoder().encodeToString("fanout-test-key!".getBytes(StandardCharsets.US_ASCII)))
        .append("\r\n");
    headers.forEach((k, v) -> req.append(k).append(": ").append(v).append("\r\n"));
    req.append("\r\n");
    OutputStream out = s.getOutputStream();
    out.write(req.toString().getBytes(StandardCharsets.ISO_8859_1));
    out.flush();
    return new RawWs(s, readStatus(s.getInputStream()));
  }

  /** The status of the handshake response, or {@link #NO_RESPONSE}. */
  public static int status(URI uri, Map<String, String> headers) throws IOException {
    try (RawWs ws = handshake(uri, headers)) {
      return ws.status;
    }
  }

  private static int readStatus(InputStream in) throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    try {
      int b;
      while ((b = in.read()) != -1 && b != '\n') {
        line.write(b);
      }
    } catch (SocketTimeoutException | SocketException e) {
      return NO_RESPONSE;
    }
    String status = line.toString(StandardCharsets.ISO_8859_1).trim();
    if (!status.startsWith("HTTP/1.1 ")) {
      return NO_RESPONSE;
    }
    return Integer.parseInt(status.substring(9, 12));
  }

  /** Whether the server has closed the TCP connection (reads to EOF, discarding frames). */
  public boolean serverClosed() {
    try {
      socket.setSoTimeout(50);
      InputStream in = socket.getInputStream();
      byte[] buf = new byte[8192];
      while (true) {
        if (in.read(buf) == -1) {
          return true;
        }
      }
    } catch (SocketTimeoutException e) {
      return false;
    } catch (IOException e) {
      return true;
    }
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
