package dev.fanout.client;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One client connection over a plain socket, read on the caller's thread: the upgrade, then
 * frames in and out through the {@link FrameCodec}. {@link ProtocolClient} reads it on a thread
 * of its own; the {@link Warmup} reads it in place.
 */
final class Connection implements Closeable {
  /** The largest message a client takes from a server. */
  static final int MAX_MESSAGE_BYTES = 64 << 20;

  private final Socket socket;
  private final InputStream in;
  private final OutputStream out;
  private final ProtocolClient.Answer answer;
  private final ArrayDeque<Frame> decoded = new ArrayDeque<>();
  private final FrameCodec.Decoder decoder;
  private final byte[] buffer = new byte[16 * 1024];
  private final ReentrantLock writing = new ReentrantLock();

  private Connection(Socket socket, ProtocolClient.Answer answer) throws IOException {
    this.socket = socket;
    this.in = socket.getInputStream();
    this.out = socket.getOutputStream();
    this.answer = answer;
    this.decoder = FrameCodec.Decoder.ofServerFrames(new FrameCodec.Decoder.Handler() {
      @Override
      public void message(int opcode, boolean compressed, byte[] b, int from, int to) {
        decoded.add(new Frame(opcode, compressed, Arrays.copyOfRange(b, from, to)));
      }

      @Override
      public void control(int opcode, byte[] b, int from, int to) {
        decoded.add(new Frame(opcode, false, Arrays.copyOfRange(b, from, to)));
      }
    }, MAX_MESSAGE_BYTES);
  }

  /** Checks that {@code uri} is one this client can connect to: ws://, a host and a port. */
  static void requireWsUri(URI uri, String who) {
    if (!"ws".equals(uri.getScheme()) || uri.getHost() == null || uri.getPort() <= 0) {
      throw new IllegalArgumentException(who + " needs a ws:// URI with a host and a port, got "
          + uri);
    }
  }

  /**
   * Connects to {@code uri} and sends the upgrade with {@code headers}; every step waits at most
   * {@code timeout}. Whatever the server answers, the connection is returned: its {@link
   * #answer()} says whether it was upgraded (101, its Sec-WebSocket-Accept checked).
   */
  static Connection open(URI uri, Map<String, String> headers, Duration timeout)
      throws IOException {
    requireWsUri(uri, "a client");
    String key = Upgrade.newKey();
    byte[] request = Upgrade.request(uri, headers, key);
    Socket s = new Socket();
    try {
      s.setTcpNoDelay(true);
      s.setSoTimeout((int) timeout.toMillis());
      s.connect(new InetSocketAddress(uri.getHost(), uri.getPort()), (int) timeout.toMillis());
      s.getOutputStream().write(request);
      s.getOutputStream().flush();
      Upgrade.Exchange exchange = Upgrade.read(s.getInputStream());
      ProtocolClient.Answer answer = exchange.answer();
      if (answer.status() == 101 && !Upgrade.accept(key)
          .equals(Upgrade.header(answer.head(), "Sec-WebSocket-Accept"))) {
        throw new IOException("the server's Sec-WebSocket-Accept does not match the key: "
            + answer.head().trim());
      }
      Connection c = new Connection(s, answer);
      c.decoder.feed(exchange.rest(), 0, exchange.rest().length);
      return c;
    } catch (IOException | RuntimeException e) {
      s.close();
      throw e;
    }
  }

  /** Sends {@code head} (a request line and headers, no blank line) as it is; reads the answer. */
  static ProtocolClient.Answer answerTo(URI uri, String head, Duration timeout)
      throws IOException {
    try (Socket s = new Socket()) {
      s.setSoTimeout((int) timeout.toMillis());
      s.connect(new InetSocketAddress(uri.getHost(), uri.getPort()), (int) timeout.toMillis());
      s.getOutputStream().write((head + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
      s.getOutputStream().flush();
      return Upgrade.read(s.getInputStream()).answer();
    }
  }

  ProtocolClient.Answer answer() {
    return answer;
  }

  boolean upgraded() {
    return answer.status() == 101;
  }

  Socket socket() {
    return socket;
  }

  /** The next frame from the server, blocking; null once the server has closed the stream. */
  Frame read() throws IOException {
    while (decoded.isEmpty()) {
      int n = in.read(buffer);
      if (n < 0) {
        return null;
      }
      decoder.feed(buffer, 0, n);
    }
    return decoded.poll();
  }

  /** Writes each piece and flushes it before the next (one piece: one write). */
  void write(byte[]... pieces) throws IOException {
    writing.lock();
    try {
      for (byte[] piece : pieces) {
        out.write(piece);
        out.flush();
      }
    } finally {
      writing.unlock();
    }
  }

  /**
   * Writes {@code bytes} unless another write is under way (it may be blocked on a server that
   * does not read, and this one would wait behind it forever); false if it did not write.
   */
  boolean writeIfIdle(byte[] bytes) throws IOException {
    if (!writing.tryLock()) {
      return false;
    }
    try {
      out.write(bytes);
      out.flush();
      return true;
    } finally {
      writing.unlock();
    }
  }

  /** Holds the write lock for a run of writes (see {@link ProtocolClient#writeRepeatedly}). */
  ReentrantLock writeLock() {
    return writing;
  }

  OutputStream out() {
    return out;
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
