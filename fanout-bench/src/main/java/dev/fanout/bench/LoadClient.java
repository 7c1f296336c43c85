package dev.fanout.bench;

import dev.fanout.client.FrameCodec;
import dev.fanout.client.ResumePoint;
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
 * One simulated dashboard on a raw non-blocking socket: the WebSocket upgrade, then it subscribes
 * to one merchant (or all), reads every frame, and hands each event to the {@link Tally}. On a
 * new {@link #connect} it resumes by the clients' one rule ({@link ResumePoint}), as
 * fanout-client.js does. Frames are decoded by fanout-client's {@link FrameCodec} and their text
 * scanned as bytes, never parsed: the generator must stay cheaper than the server. Runs on its
 * {@link LeanSockets} thread; answers pings, and closes when the server closes.
 */
final class LoadClient {
  private static final byte[] HEADER_END = "\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] SUBSCRIBED = ascii("{\"type\":\"subscribed\"");
  private static final byte[] RECOVERED = ascii("\"recovered\":true");
  private static final byte[] ID = ascii("\"id\":\"");
  private static final byte[] PUBLISHED = ascii("\"publishedAtMicros\":");
  private static final byte[] POSITION = ascii("\"position\":\"");
  private static final byte[] REPLAY = ascii("\"replay\":");
  private static final byte[] DROPPED = ascii("{\"type\":\"dropped\"");
  private static final int MAX_MESSAGE_BYTES = 16 << 20;

  private final LeanSockets io;
  private final URI uri;
  private final String merchant; // null = all
  private final Tally tally;
  private final boolean plain; // the Go reference's protocol: no 'subscribed', ids without epoch
  private final ResumePoint resume = new ResumePoint();
  private final FrameCodec.Decoder decoder =
      FrameCodec.Decoder.ofServerFrames(new Frames(), MAX_MESSAGE_BYTES);

  // Touched only on the io thread.
  private SocketChannel channel;
  private SelectionKey key;
  private boolean upgraded;
  private byte[] in = new byte[512]; // bytes of the upgrade's answer read so far
  private int inLength;
  private ByteBuffer out; // bytes not yet written, or null
  private CompletableFuture<Void> opened;

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

  LoadClient(LeanSockets io, URI uri, String merchant, Tally tally, boolean plain) {
    this.io = io;
    this.uri = uri;
    this.merchant = merchant;
    this.tally = tally;
    this.plain = plain;
  }

  private static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }

  /** Opens a new connection; completes when the upgrade is answered with 101. */
  CompletableFuture<Void> connect() {
    CompletableFuture<Void> done = new CompletableFuture<>();
    io.execute(() -> {
      try {
        reset();
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

  private void reset() {
    closeChannel();
    upgraded = false;
    inLength = 0;
    decoder.reset();
    resume.disconnected();
    out = null;
  }

  private void closeChannel() {
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
        String path = uri.getRawPath() + (uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery());
        write(ByteBuffer.wrap(ascii("GET " + path + " HTTP/1.1\r\nHost: " + uri.getHost() + ":"
            + uri.getPort() + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: ZmFub3V0LWxvYWQtZ2VuIQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")));
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
      if (upgraded) {
        decoder.feed(buf);
      } else {
        if (inLength + n > in.length) {
          in = Arrays.copyOf(in, Math.max(in.length * 2, inLength + n));
        }
        buf.get(in, inLength, n);
        inLength += n;
        handshake();
      }
      if (!channel.isOpen()) {
        return;
      }
    }
  }

  private void handshake() throws IOException {
    int end = indexOf(in, 0, inLength, HEADER_END);
    if (end < 0) {
      return;
    }
    String status = new String(in, 0, Math.min(end, 16), StandardCharsets.US_ASCII);
    if (!status.startsWith("HTTP/1.1 101")) {
      throw new IOException("upgrade refused: " + status.trim());
    }
    upgraded = true;
    opened.complete(null);
    String from = plain ? null : resume.subscribing();
    String resumeFrom = from == null ? "" : ",\"lastEventId\":\"" + from + "\"";
    send(FrameCodec.text("{\"type\":\"subscribe\",\"merchants\":["
        + (merchant == null ? "" : "\"" + merchant + "\"") + "]" + resumeFrom + "}"));
    if (plain) { // no answer comes: subscribed once the frame is on its way
      subscribed.complete(false);
    }
    int used = end + HEADER_END.length;
    decoder.feed(in, used, inLength - used); // frames that came with the answer
    inLength = 0;
  }

  /** Where a new connection resumes from now (null: nowhere), by the clients' one rule. */
  String resumeFrom() {
    return resume.resumeFrom();
  }

  /** What the decoder hands out, on the io thread. */
  private final class Frames implements FrameCodec.Decoder.Handler {
    @Override
    public void message(int opcode, boolean compressed, byte[] b, int from, int to) {
      if (opcode == FrameCodec.TEXT && channel.isOpen()) {
        scan(b, from, to);
      }
    }

    @Override
    public void control(int opcode, byte[] b, int from, int to) throws IOException {
      if (!channel.isOpen()) {
        return; // closed by an earlier frame of the same read
      }
      if (opcode == FrameCodec.CLOSE) {
        int code = to - from >= 2 ? ((b[from] & 0xff) << 8) | (b[from + 1] & 0xff) : 1005;
        tally.closed(code);
        boolean wasSubscribed = isSubscribed();
        subscribed.completeExceptionally(new IOException("closed " + code));
        send(FrameCodec.clientFrame(FrameCodec.CLOSE,
            Arrays.copyOfRange(b, from, from + Math.min(to - from, 2))));
        closeChannel();
        if (wasSubscribed) {
          onLost.run();
        }
      } else if (opcode == FrameCodec.PING) {
        send(FrameCodec.clientFrame(FrameCodec.PONG, Arrays.copyOfRange(b, from, to)));
      }
    }
  }

  private void scan(byte[] b, int from, int to) {
    if (startsWith(b, from, to, SUBSCRIBED)) {
      // A resume point even if no event comes before the next drop, once the replay that
      // follows has been received (protocol.md).
      String position = null;
      int p = indexOf(b, from, to, POSITION);
      if (p >= 0) {
        int start = p + POSITION.length;
        int end = start;
        while (end < to && b[end] != '"') {
          end++;
        }
        position = new String(b, start, end - start, StandardCharsets.US_ASCII);
      }
      int r = indexOf(b, from, to, REPLAY);
      int digits = r < 0 ? 0 : r + REPLAY.length;
      int e = digits;
      while (r >= 0 && e < to && b[e] >= '0' && b[e] <= '9') {
        e++;
      }
      boolean recovered = indexOf(b, from, to, RECOVERED) >= 0;
      resume.subscribed(recovered, position, r < 0 ? 0 : number(b, digits, e));
      subscribed.complete(recovered);
      return;
    }
    if (startsWith(b, from, to, DROPPED)) {
      resume.dropped(); // events are missing: resume from the last one received
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
      resume.event(new String(b, idStart, idEnd - idStart, StandardCharsets.US_ASCII));
      at = idEnd;
    }
  }

  private static long number(byte[] b, int from, int to) {
    long n = 0;
    for (int i = from; i < to; i++) {
      n = n * 10 + (b[i] - '0');
    }
    return n;
  }

  private static boolean startsWith(byte[] b, int from, int to, byte[] prefix) {
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

  private void send(byte[] frame) throws IOException {
    write(ByteBuffer.wrap(frame));
  }

  private void write(ByteBuffer bytes) throws IOException {
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

  private void fail(Throwable e) {
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
