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
import java.util.concurrent.atomic.AtomicLong;

/**
 * A WebSocket handshake over a plain socket: shows the exact HTTP status of a refused upgrade, and
 * after a 101 plays a client that never reads and so never answers a ping, or one that sends
 * frames a client library would not.
 */
public final class RawWs implements AutoCloseable {
  /** Status reported when the server closed the connection without any response. */
  public static final int NO_RESPONSE = -1;

  final Socket socket;
  public final int status;
  /** A 101's status line and headers; empty otherwise. */
  public final String head;

  private RawWs(Socket socket, int status, String head) {
    this.socket = socket;
    this.status = status;
    this.head = head;
  }

  public static RawWs handshake(URI uri, Map<String, String> headers) throws IOException {
    Socket s = send(uri, headers);
    int status = readStatus(s.getInputStream());
    // the rest of a 101's head, so that what follows is frames
    String head = status == 101 ? readHead(s.getInputStream()) : "";
    return new RawWs(s, status, head);
  }

  /** A refused handshake's whole answer: status, head (status line and headers), body. */
  public record Answer(int status, String head, String body) {}

  /** Sends a handshake and reads the whole HTTP answer (for refusals, which carry a body). */
  public static Answer answer(URI uri, Map<String, String> headers) throws IOException {
    return answer(send(uri, headers));
  }

  /**
   * Sends {@code head} as it is (a request line and headers, without the blank line that ends
   * them) and reads the whole HTTP answer: for handshakes that lack what a client always sends.
   */
  public static Answer answerTo(URI uri, String head) throws IOException {
    Socket s = new Socket(uri.getHost(), uri.getPort());
    s.setSoTimeout(10_000);
    OutputStream out = s.getOutputStream();
    out.write((head + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
    out.flush();
    return answer(s);
  }

  private static Answer answer(Socket socket) throws IOException {
    try (Socket s = socket) {
      InputStream in = s.getInputStream();
      String h = readHead(in);
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

  /** Reads up to and including the blank line that ends an HTTP head. */
  private static String readHead(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int matched = 0;
    int b;
    while (matched < 4 && (b = in.read()) != -1) {
      head.write(b);
      matched = (b == '\r' || b == '\n') ? (matched + 1) : 0;
    }
    return head.toString(StandardCharsets.ISO_8859_1);
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
    sendFrame(0xA, payload);
  }

  /**
   * Sends one final, masked frame with {@code opcode} and {@code payload} (under 64 KiB), as it
   * is: for frames a WebSocket client library would refuse to send.
   */
  public void sendFrame(int opcode, byte[] payload) throws IOException {
    sendFrame(opcode, false, payload);
  }

  /** {@link #sendFrame(int, byte[])} with RSV1 set when {@code compressed} (RFC 7692). */
  public void sendFrame(int opcode, boolean compressed, byte[] payload) throws IOException {
    OutputStream out = socket.getOutputStream();
    out.write(frame(opcode, compressed, payload));
    out.flush();
  }

  /** One final, masked frame, as {@link #sendFrame(int, byte[])} sends it. */
  public static byte[] frame(int opcode, byte[] payload) {
    return frame(opcode, false, payload);
  }

  private static byte[] frame(int opcode, boolean compressed, byte[] payload) {
    if (payload.length > 0xFFFF) {
      throw new IllegalArgumentException("payload over 64 KiB");
    }
    int lengthBytes = payload.length < 126 ? 0 : 2;
    byte[] mask = {1, 2, 3, 4};
    byte[] frame = new byte[2 + lengthBytes + 4 + payload.length];
    frame[0] = (byte) (0x80 | (compressed ? 0x40 : 0) | opcode); // FIN
    if (lengthBytes == 0) {
      frame[1] = (byte) (0x80 | payload.length); // masked, short payload
    } else {
      frame[1] = (byte) (0x80 | 126); // masked, 16-bit length
      frame[2] = (byte) (payload.length >>> 8);
      frame[3] = (byte) payload.length;
    }
    int at = 2 + lengthBytes;
    System.arraycopy(mask, 0, frame, at, 4);
    for (int i = 0; i < payload.length; i++) {
      frame[at + 4 + i] = (byte) (payload[i] ^ mask[i % 4]);
    }
    return frame;
  }

  /**
   * Writes {@code bytes} over and over, never reading, until the connection fails or {@code
   * limit} bytes are written, counting them in {@code written}. Blocks while the server is not
   * reading.
   */
  public void writeRepeatedly(byte[] bytes, long limit, AtomicLong written) {
    try {
      OutputStream out = socket.getOutputStream();
      while (written.get() < limit) {
        out.write(bytes);
        written.addAndGet(bytes.length);
      }
    } catch (IOException e) {
      // closed by the server or by the test: done either way
    }
  }

  /** A frame from the server: its opcode, whether RSV1 (compressed) is set, its payload. */
  public record Frame(int opcode, boolean compressed, byte[] payload) {}

  /** The server's next frame, or null if the connection ends first. */
  public Frame nextFrame() throws IOException {
    InputStream in = socket.getInputStream();
    int b0 = in.read();
    int b1 = in.read();
    if (b0 == -1 || b1 == -1) {
      return null;
    }
    long length = b1 & 0x7F; // a server's frames are not masked
    if (length >= 126) {
      byte[] extended = in.readNBytes(length == 126 ? 2 : 8);
      length = 0;
      for (byte x : extended) {
        length = (length << 8) | (x & 0xFF);
      }
    }
    byte[] payload = in.readNBytes((int) length);
    return payload.length < length ? null
        : new Frame(b0 & 0x0F, (b0 & 0x40) != 0, payload);
  }

  /**
   * Reads frames until the server's close frame and returns its status code ({@link
   * #NO_RESPONSE} if the connection ends without one, 1005 for a close frame without a code).
   */
  public int awaitCloseCode() throws IOException {
    for (Frame f = nextFrame(); f != null; f = nextFrame()) {
      if (f.opcode() == 0x8) {
        byte[] p = f.payload();
        return p.length < 2 ? 1005 : ((p[0] & 0xFF) << 8) | (p[1] & 0xFF);
      }
    }
    return NO_RESPONSE;
  }

  /**
   * Whether the server has closed {@code socket} (EOF or reset), within one read of the socket's
   * timeout; for sockets that never sent a request.
   */
  public static boolean closedByServer(Socket socket) {
    try {
      return socket.getInputStream().read() == -1;
    } catch (SocketTimeoutException e) {
      return false;
    } catch (IOException e) {
      return true;
    }
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
