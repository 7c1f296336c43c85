package dev.fanout.protocol;

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
    Socket s = send(uri, headers);
    return new RawWs(s, readStatus(s.getInputStream()));
  }

  /** A refused handshake's whole answer: status, head (status line and headers), body. */
  public record Answer(int status, String head, String body) {}

  /** Sends a handshake and reads the whole HTTP answer (for refusals, which carry a body). */
  public static Answer answer(URI uri, Map<String, String> headers) throws IOException {
    try (Socket s = send(uri, headers)) {
      InputStream in = s.getInputStream();
      ByteArrayOutputStream head = new ByteArrayOutputStream();
      int matched = 0;
      int b;
      while (matched < 4 && (b = in.read()) != -1) {
        head.write(b);
        matched = (b == '\r' || b == '\n') ? (matched + 1) : 0;
      }
      String h = head.toString(StandardCharsets.ISO_8859_1);
      int length = 0;
      for (String line : h.split("\r\n")) {
        if (line.toLowerCase().startsWith("content-length:")) {
          length = Integer.parseInt(line.substring(15).trim());
        }
      }
      byte[] body = in.readNBytes(length);
      int status = h.startsWith("HTTP/1.1 ") ? Integer.parseInt(h.substring(9, 12)) : NO_RESPONSE;
      return new Answer(status, h, new String(body, StandardCharsets.UTF_8));
    }
  }

  private static Socket send(URI uri, Map<String, String> headers) throws IOException {
    Socket s = new Socket(uri.getHost(), uri.getPort());
    s.setSoTimeout(10_000);
    String path = uri.getRawPath() + (uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery());
    StringBuilder req = new StringBuilder()
        .append("GET ").append(path).append(" HTTP/1.1\r\n")
        .append("Host: ").append(uri.getHost()).append(':').append(uri.getPort()).append("\r\n")
        .append("Upgrade: websocket\r\nConnection: Upgrade\r\n")
        .append(headers.containsKey("Sec-WebSocket-Version") ? "" : "Sec-WebSocket-Version: 13\r\n")
        .append("Sec-WebSocket-Key: ")
        .append(Base64.getEncoder()
            .encodeToString("fanout-test-key!".getBytes(StandardCharsets.US_ASCII)))
        .append("\r\n");
    headers.forEach((k, v) -> req.append(k).append(": ").append(v).append("\r\n"));
    req.append("\r\n");
    OutputStream out = s.getOutputStream();
    out.write(req.toString().getBytes(StandardCharsets.ISO_8859_1));
    out.flush();
    return s;
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

  /** Sends a (masked, as a client must) pong frame carrying {@code payload}, unasked. */
  public void sendPong(byte[] payload) throws IOException {
    byte[] mask = {1, 2, 3, 4};
    byte[] frame = new byte[2 + 4 + payload.length];
    frame[0] = (byte) 0x8A; // FIN, pong
    frame[1] = (byte) (0x80 | payload.length); // masked, short payload
    System.arraycopy(mask, 0, frame, 2, 4);
    for (int i = 0; i < payload.length; i++) {
      frame[6 + i] = (byte) (payload[i] ^ mask[i % 4]);
    }
    OutputStream out = socket.getOutputStream();
    out.write(frame);
    out.flush();
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
