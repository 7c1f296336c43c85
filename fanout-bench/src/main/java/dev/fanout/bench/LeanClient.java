package dev.fanout.bench;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;

/**
 * One simulated dashboard on a raw non-blocking socket of a {@link LeanSockets} thread, whatever
 * its transport: it connects, sends its request, reads protocol v1's frames as its transport
 * carries them ({@link LoadClient}: WebSocket; {@link SseClient}: Server-Sent Events), and counts
 * every event in the {@link Tally}. The frames' JSON is scanned as bytes here, once for both
 * transports, never parsed: the generator must stay cheaper than the server it measures.
 * Everything but the volatile fields is touched on the I/O thread only.
 */
abstract class LeanClient {
  private static final byte[] SUBSCRIBED = ascii("{\"type\":\"subscribed\"");
  private static final byte[] RECOVERED = ascii("\"recovered\":true");
  private static final byte[] ID = ascii("\"id\":\"");
  private static final byte[] PUBLISHED = ascii("\"publishedAtMicros\":");
  private static final byte[] DROPPED = ascii("{\"type\":\"dropped\"");

  final LeanSockets io;
  final URI uri;
  final String merchant; // null = all
  final Tally tally;

  // Touched only on the io thread.
  SocketChannel channel;
  private SelectionKey key;
  private ByteBuffer out; // bytes not yet written, or null
  CompletableFuture<Void> opened;

  /** The newest sequence received in the partition of the latest event. */
  volatile long lastSeq;
  /**
   * Per partition, the newest sequence received (one, for a stream of one partition): order
   * and duplicates are counted per partition, as the protocol promises them. On the io thread.
   */
  private long[] lastSeqs = new long[1];
  volatile CompletableFuture<Boolean> subscribed = new CompletableFuture<>(); // recovered?
  /** Called when the server or the network ends a subscribed connection (not on {@link #drop}). */
  volatile Runnable onLost = () -> { };

  LeanClient(LeanSockets io, URI uri, String merchant, Tally tally) {
    this.io = io;
    this.uri = uri;
    this.merchant = merchant;
    this.tally = tally;
  }

  static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }

  /** The request that opens a connection (the upgrade, or the stream's GET). */
  abstract byte[] request();

  /** Bytes read from the socket, in {@code buf} (flipped; read them before returning). */
  abstract void received(ByteBuffer buf) throws IOException;

  /** Forgets what the previous connection left half-read. */
  abstract void resetConnection();

  /** Where a new connection resumes from now (null: nowhere). */
  abstract String resumeFrom();

  /** A {@code subscribed} frame, {@code b[from, to)}, its {@code recovered} already read. */
  void subscribedFrame(byte[] b, int from, int to, boolean recovered) {
  }

  /** A {@code dropped} frame: events are missing. */
  void droppedFrame() {
  }

  /** An event whose id is {@code b[from, to)}, counted in the tally already. */
  void eventReceived(byte[] b, int from, int to) {
  }

  /** Opens a new connection; completes when the server answers the request (101, or 200). */
  CompletableFuture<Void> connect() {
    CompletableFuture<Void> done = new CompletableFuture<>();
    io.execute(() -> {
      try {
        closeChannel();
        out = null;
        resetConnection();
        // the new connection's, made on the I/O thread: the old connection's close, if the I/O
        // thread reads it before this task, fails the old one, not this (it did, now and then)
        subscribed = new CompletableFuture<>();
        opened = done;
        channel = SocketChannel.open();
        channel.configureBlocking(false);
        channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
        channel.connect(new InetSocketAddress(uri.getHost(), uri.getPort()));
        key = channel.register(io.selector(), SelectionKey.OP_CONNECT, this);
      } catch (IOException e) {
        fail(e);
      }
    });
    return done;
  }

  /** Drops the connection without a close handshake (a reset), as a network failure would. */
  void drop() {
    io.execute(() -> {
      if (channel != null && channel.isOpen()) {
        try {
          channel.setOption(StandardSocketOptions.SO_LINGER, 0);
        } catch (IOException ignored) {
          // closing anyway
        }
        closeChannel();
      }
    });
  }

  void closeChannel() {
    if (channel != null) {
      try {
        channel.close();
      } catch (IOException ignored) {
        // already gone
      }
    }
  }

  /** The selector says the socket is ready. */
  void ready(SelectionKey k) {
    try {
      if (k.isConnectable()) {
        channel.finishConnect();
        k.interestOps(SelectionKey.OP_READ);
        write(ByteBuffer.wrap(request()));
        return;
      }
      if (k.isWritable()) {
        flush();
      }
      if (k.isReadable()) {
        read();
      }
    } catch (IOException | RuntimeException e) {
      fail(e);
    }
  }

  private void read() throws IOException {
    ByteBuffer buf = io.readBuffer;
    while (true) {
      buf.clear();
      int n = channel.read(buf);
      if (n < 0) {
        fail(new IOException("connection closed by the server"));
        return;
      }
      if (n == 0) {
        return;
      }
      buf.flip();
      received(buf);
      if (!channel.isOpen()) {
        return;
      }
    }
  }

  /** The "Host" of a request: the URI's host and port. */
  String hostHeader() {
    return uri.getHost() + ":" + uri.getPort();
  }

  /**
   * Scans one frame's JSON, {@code b[from, to)}: a {@code subscribed} completes {@link
   * #subscribed}, a {@code dropped} is passed on, and every event id in it is counted with its
   * publish time.
   */
  final void scan(byte[] b, int from, int to) {
    if (startsWith(b, from, to, SUBSCRIBED)) {
      boolean recovered = indexOf(b, from, to, RECOVERED) >= 0;
      subscribedFrame(b, from, to, recovered);
      subscribed.complete(recovered);
      return;
    }
    if (startsWith(b, from, to, DROPPED)) {
      droppedFrame();
      return;
    }
    long now = Tally.nowMicros();
    int at = from;
    while ((at = indexOf(b, at, to, ID)) >= 0) {
      int idStart = at + ID.length;
      int idEnd = idStart;
      int colon = -1;
      int dot = -1;
      while (idEnd < to && b[idEnd] != '"') {
        if (b[idEnd] == ':') {
          colon = idEnd;
        } else if (b[idEnd] == '.' && colon < 0) {
          dot = idEnd;
        }
        idEnd++;
      }
      long seq = number(b, colon < 0 ? idStart : colon + 1, idEnd); // plain ids: a number
      int partition = dot < 0 ? 0 : (int) number(b, idStart, dot); // <partition>.<epoch>:<seq>
      if (partition >= lastSeqs.length) {
        lastSeqs = Arrays.copyOf(lastSeqs, partition + 1);
      }
      int p = indexOf(b, idEnd, to, PUBLISHED);
      long published = 0;
      if (p >= 0) {
        int v = p + PUBLISHED.length;
        int e = v;
        while (e < to && b[e] >= '0' && b[e] <= '9') {
          e++;
        }
        published = number(b, v, e);
      }
      tally.received(seq, lastSeqs[partition], published, now);
      if (seq > lastSeqs[partition]) {
        lastSeqs[partition] = seq;
      }
      lastSeq = lastSeqs[partition];
      eventReceived(b, idStart, idEnd);
      at = idEnd;
    }
  }

  static long number(byte[] b, int from, int to) {
    long n = 0;
    for (int i = from; i < to; i++) {
      n = n * 10 + (b[i] - '0');
    }
    return n;
  }

  static boolean startsWith(byte[] b, int from, int to, byte[] prefix) {
    if (to - from < prefix.length) {
      return false;
    }
    for (int i = 0; i < prefix.length; i++) {
      if (b[from + i] != prefix[i]) {
        return false;
      }
    }
    return true;
  }

  static int indexOf(byte[] b, int from, int to, byte[] needle) {
    outer:
    for (int i = from; i <= to - needle.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (b[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  void write(ByteBuffer bytes) throws IOException {
    if (out != null) {
      ByteBuffer joined = ByteBuffer.allocate(out.remaining() + bytes.remaining());
      joined.put(out).put(bytes).flip();
      out = joined;
    } else {
      out = bytes;
    }
    flush();
  }

  private void flush() throws IOException {
    channel.write(out);
    if (out.hasRemaining()) {
      key.interestOps(SelectionKey.OP_READ | SelectionKey.OP_WRITE);
    } else {
      out = null;
      key.interestOps(SelectionKey.OP_READ);
    }
  }

  /**
   * The server ended the connection in order (a close frame, or the end of the stream): counted
   * under {@code code}, and a subscribed client is lost.
   */
  void ended(int code) {
    tally.closed(code);
    boolean wasSubscribed = isSubscribed();
    subscribed.completeExceptionally(new IOException("closed " + code));
    closeChannel();
    if (wasSubscribed) {
      onLost.run();
    }
  }

  void fail(Throwable e) {
    boolean wasOpen = channel != null && channel.isOpen();
    closeChannel();
    if (opened != null && opened.completeExceptionally(e)) {
      return; // never opened: the caller sees the failure
    }
    if (wasOpen) {
      tally.closed(1006);
    }
    boolean wasSubscribed = isSubscribed();
    subscribed.completeExceptionally(e);
    if (wasOpen && wasSubscribed) {
      onLost.run();
    }
  }

  private boolean isSubscribed() {
    CompletableFuture<Boolean> s = subscribed;
    return s.isDone() && !s.isCompletedExceptionally();
  }
}
