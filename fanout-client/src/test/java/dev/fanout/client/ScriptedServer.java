package dev.fanout.client;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Locale;

/**
 * A WebSocket server on a free loopback port that a test scripts byte by byte (OkHttp's {@code
 * MockWebServer} idea): it accepts a connection, answers its upgrade as told, sends frames as
 * they are, and reads the client's frames with the {@link FrameCodec}. For tests of clients: the
 * protocol client here, the load generator's client in fanout-bench.
 */
public final class ScriptedServer implements AutoCloseable {
  private final ServerSocket listener;

  private ScriptedServer(ServerSocket listener) {
    this.listener = listener;
  }

  public static ScriptedServer start() throws IOException {
    ServerSocket s = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    s.setSoTimeout(10_000);
    return new ScriptedServer(s);
  }

  /** The server's ws:// URI, path {@code /ws}. */
  public URI uri() {
    return URI.create("ws://127.0.0.1:" + listener.getLocalPort() + "/ws");
  }

  /** The next connection, its request head read; fails after 10 s. */
  public Peer accept() throws IOException {
    Socket s = listener.accept();
    s.setSoTimeout(10_000);
    return new Peer(s);
  }

  @Override
  public void close() throws IOException {
    listener.close();
  }

  /** One client connection, from the server's side. */
  public static final class Peer implements AutoCloseable {
    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;
    private final String request;
    private final ArrayDeque<Frame> frames = new ArrayDeque<>();
    private final FrameCodec.Decoder decoder =
        FrameCodec.Decoder.ofClientFrames(new FrameCodec.Decoder.Handler() {
          @Override
          public void message(int opcode, boolean compressed, byte[] b, int from, int to) {
            frames.add(new Frame(opcode, compressed, Arrays.copyOfRange(b, from, to)));
          }

          @Override
          public void control(int opcode, byte[] b, int from, int to) {
            frames.add(new Frame(opcode, false, Arrays.copyOfRange(b, from, to)));
          }
        }, 1 << 20);

    private Peer(Socket socket) throws IOException {
      this.socket = socket;
      this.in = socket.getInputStream();
      this.out = socket.getOutputStream();
      ByteArrayOutputStream head = new ByteArrayOutputStream();
      int matched = 0;
      int b;
      while (matched < 4 && (b = in.read()) != -1) {
        head.write(b);
        matched = (b == '\r' || b == '\n') ? matched + 1 : 0;
      }
      this.request = head.toString(StandardCharsets.ISO_8859_1);
    }

    /** The request line and headers the client sent. */
    public String request() {
      return request;
    }

    /** The value of the request's header {@code name}, or null. */
    public String header(String name) {
      return Upgrade.header(request, name);
    }

    /** Answers the upgrade with 101 and the Sec-WebSocket-Accept the client's key calls for. */
    public Peer upgrade() throws IOException {
      return answer("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
          + "Connection: Upgrade\r\nSec-WebSocket-Accept: "
          + Upgrade.accept(header("Sec-WebSocket-Key")) + "\r\n\r\n");
    }

    /** Refuses the upgrade with {@code status} and a plain-text {@code body}. */
    public Peer refuse(int status, String body) throws IOException {
      byte[] b = body.getBytes(StandardCharsets.UTF_8);
      return answer("HTTP/1.1 " + status + " Refused\r\nContent-Type: text/plain\r\n"
          + "Content-Length: " + b.length + "\r\nConnection: close\r\n\r\n" + body);
    }

    /** Sends {@code head} as it is. */
    public Peer answer(String head) throws IOException {
      out.write(head.getBytes(StandardCharsets.UTF_8));
      out.flush();
      return this;
    }

    /** Sends {@code pieces} as they are, each in a write of its own. */
    public Peer send(byte[]... pieces) throws IOException {
      for (byte[] p : pieces) {
        out.write(p);
        out.flush();
      }
      return this;
    }

    /** Sends one final text frame, unmasked as a server's are. */
    public Peer sendText(String text) throws IOException {
      return send(serverFrame(FrameCodec.TEXT, text.getBytes(StandardCharsets.UTF_8)));
    }

    /** Sends a close frame with {@code code} and {@code reason}. */
    public Peer sendClose(int code, String reason) throws IOException {
      byte[] r = reason.getBytes(StandardCharsets.UTF_8);
      byte[] p = new byte[2 + r.length];
      p[0] = (byte) (code >>> 8);
      p[1] = (byte) code;
      System.arraycopy(r, 0, p, 2, r.length);
      return send(serverFrame(FrameCodec.CLOSE, p));
    }

    /** One final, unmasked frame, as a server sends it. */
    public static byte[] serverFrame(int opcode, byte[] payload) {
      return FrameCodec.frame(opcode).unmasked().payload(payload).encode();
    }

    /** The client's next frame (messages joined); null if it closed the connection first. */
    public Frame nextFrame() throws IOException {
      byte[] buf = new byte[8192];
      while (frames.isEmpty()) {
        int n = in.read(buf);
        if (n < 0) {
          return null;
        }
        decoder.feed(buf, 0, n);
      }
      return frames.poll();
    }

    /** The text of the client's next frame, which must be a text frame. */
    public String nextText() throws IOException {
      Frame f = nextFrame();
      if (f == null || f.opcode() != FrameCodec.TEXT) {
        throw new AssertionError("expected a text frame, got " + f);
      }
      return f.text();
    }

    /** Whether the client has closed the TCP connection (reads, discarding, up to 50 ms). */
    public boolean clientClosed() throws IOException {
      socket.setSoTimeout(50);
      try {
        while (true) {
          if (in.read() == -1) {
            return true;
          }
        }
      } catch (SocketTimeoutException e) {
        return false;
      } catch (IOException e) {
        return true;
      } finally {
        socket.setSoTimeout(10_000);
      }
    }

    /** Whether the request carried header {@code name} (any case). */
    public boolean hasHeader(String name) {
      return request.toLowerCase(Locale.ROOT).contains("\r\n" + name.toLowerCase(Locale.ROOT)
          + ":");
    }

    /** Closes the TCP connection at once. */
    @Override
    public void close() throws IOException {
      socket.close();
    }
  }
}
