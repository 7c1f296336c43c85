package dev.fanout.bench;

import dev.fanout.core.EventId;
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
 * new {@link #connect} it resumes from the last event it saw, as fanout-client.js does. Frames
 * are scanned as bytes, never decoded: the generator must stay cheaper than the server. Runs on
 * its {@link LeanSockets} thread; answers pings, and closes when the server closes.
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

  private final LeanSockets io;
  private final URI uri;
  private final String merchant; // null = all
  private final Tally tally;
  private final boolean plain; // the Go reference's protocol: no 'subscribed', ids without epoch

  // Touched only on the io thread.
  private SocketChannel channel;
  private SelectionKey key;
  private boolean upgraded;
  private byte[] in = new byte[512]; // bytes read and not yet consumed
  private int inLength;
  private byte[] message = new byte[0]; // a fragmented text message being assembled
  private int messageLength;
  private ByteBuffer out; // bytes not yet written, or null
  private CompletableFuture<Void> opened;

  volatile String lastEventId;
  volatile String position; // from the latest 'subscribed', once its replay was received
  private String pendingPosition; // io thread: the latest 'subscribed' position, replay under way
  private long replayLeft; // io thread: replay events still to come before pendingPosition counts
  volatile long lastSeq;
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
    subscribed = new CompletableFuture<>();
    io.execute(() -> {
      try {
        reset();
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
    messageLength = 0;
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
      if (inLength + n > in.length) {
        in = Arrays.copyOf(in, Math.max(in.length * 2, inLength + n));
      }
      buf.get(in, inLength, n);
      inLength += n;
      int used = upgraded ? frames() : handshake();
      if (used > 0) {
        System.arraycopy(in, used, in, 0, inLength - used);
        inLength -= used;
      }
      if (!channel.isOpen()) {
        return;
      }
    }
  }

  private int handshake() throws IOException {
    int end = indexOf(in, 0, inLength, HEADER_END);
    if (end < 0) {
      return 0;
    }
    String status = new String(in, 0, Math.min(end, 16), StandardCharsets.US_ASCII);
    if (!status.startsWith("HTTP/1.1 101")) {
      throw new IOException("upgrade refused: " + status.trim());
    }
    upgraded = true;
    opened.complete(null);
    String from = plain ? null : resumeFrom();
    String resume = from == null ? "" : ",\"lastEventId\":\"" + from + "\"";
    sendText("{\"type\":\"subscribe\",\"merchants\":["
        + (merchant == null ? "" : "\"" + merchant + "\"") + "]" + resume + "}");
    if (plain) { // no answer comes: subscribed once the frame is on its way
      subscribed.complete(false);
    }
    int used = end + HEADER_END.length;
    System.arraycopy(in, used, in, 0, inLength - used);
    inLength -= used;
    return frames();
  }

  /** The newer of the last event seen and the server's position, as fanout-client.js does. */
  String resumeFrom() {
    String last = lastEventId;
    String pos = position;
    if (last == null || pos == null) {
      return last == null ? pos : last;
    }
    EventId l = EventId.parse(last);
    EventId p = EventId.parse(pos);
    return l.sameEpoch(p) && l.seq() >= p.seq() ? last : pos;
  }

  /** Consumes every whole frame in {@code in}; returns the bytes consumed. */
  private int frames() throws IOException {
    int at = 0;
    while (inLength - at >= 2) {
      int b0 = in[at] & 0xff;
      int b1 = in[at + 1] & 0x7f; // server frames are not masked
      int header = 2;
      long length = b1;
      if (b1 == 126) {
        if (inLength - at < 4) {
          break;
        }
        length = ((in[at + 2] & 0xff) << 8) | (in[at + 3] & 0xff);
        header = 4;
      } else if (b1 == 127) {
        if (inLength - at < 10) {
          break;
        }
        length = 0;
        for (int i = 0; i < 8; i++) {
          length = (length << 8) | (in[at + 2 + i] & 0xff);
        }
        header = 10;
      }
      if (inLength - at - header < length) {
        break;
      }
      frame(b0, at + header, (int) length);
      at += header + (int) length;
      if (!channel.isOpen()) {
        break;
      }
    }
    return at;
  }

  private void frame(int b0, int from, int length) throws IOException {
    boolean fin = (b0 & 0x80) != 0;
    int opcode = b0 & 0x0f;
    switch (opcode) {
      case 0x1: // text
      case 0x0: // continuation
        if (fin && messageLength == 0) {
          scan(in, from, from + length);
        } else {
          if (messageLength + length > message.length) {
            message = Arrays.copyOf(message, Math.max(message.length * 2, messageLength + length));
          }
          System.arraycopy(in, from, message, messageLength, length);
          messageLength += length;
          if (fin) {
            scan(message, 0, messageLength);
            messageLength = 0;
          }
        }
        break;
      case 0x8: // close
        int code = length >= 2 ? ((in[from] & 0xff) << 8) | (in[from + 1] & 0xff) : 1005;
        tally.closed(code);
        boolean wasSubscribed = isSubscribed();
        subscribed.completeExceptionally(new IOException("closed " + code));
        sendFrame(0x88, Arrays.copyOfRange(in, from, from + Math.min(length, 2)));
        closeChannel();
        if (wasSubscribed) {
          onLost.run();
        }
        break;
      case 0x9: // ping
        sendFrame(0x8A, Arrays.copyOfRange(in, from, from + length));
        break;
      default: // pong, binary: nothing to do
        break;
    }
  }

  private void scan(byte[] b, int from, int to) {
    if (startsWith(b, from, to, SUBSCRIBED)) {
      // A resume point even if no event comes before the next drop, but only once the replay
      // that follows has been received, as fanout-client.js does (protocol.md).
      position = null;
      pendingPosition = null;
      int p = indexOf(b, from, to, POSITION);
      if (p >= 0) {
        int start = p + POSITION.length;
        int end = start;
        while (end < to && b[end] != '"') {
          end++;
        }
        pendingPosition = new String(b, start, end - start, StandardCharsets.US_ASCII);
        int r = indexOf(b, from, to, REPLAY);
        int digits = r < 0 ? 0 : r + REPLAY.length;
        int e = digits;
        while (r >= 0 && e < to && b[e] >= '0' && b[e] <= '9') {
          e++;
        }
        replayLeft = r < 0 ? 0 : number(b, digits, e);
        adoptPositionIfReplayed();
      }
      subscribed.complete(indexOf(b, from, to, RECOVERED) >= 0);
      return;
    }
    if (startsWith(b, from, to, DROPPED)) {
      pendingPosition = null; // events are missing: resume from the last one received
      return;
    }
    long now = Tally.nowMicros();
    int at = from;
    while ((at = indexOf(b, at, to, ID)) >= 0) {
      int idStart = at + ID.length;
      int idEnd = idStart;
      int colon = -1;
      while (idEnd < to && b[idEnd] != '"') {
        if (b[idEnd] == ':') {
          colon = idEnd;
        }
        idEnd++;
      }
      long seq = number(b, colon < 0 ? idStart : colon + 1, idEnd); // plain ids: a number
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
      tally.received(seq, lastSeq, published, now);
      if (seq > lastSeq) {
        lastSeq = seq;
      }
      lastEventId = new String(b, idStart, idEnd - idStart, StandardCharsets.US_ASCII);
      replayLeft--;
      adoptPositionIfReplayed();
      at = idEnd;
    }
  }

  private void adoptPositionIfReplayed() {
    if (pendingPosition != null && replayLeft <= 0) {
      position = pendingPosition;
      pendingPosition = null;
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

  private void sendText(String text) throws IOException {
    sendFrame(0x81, text.getBytes(StandardCharsets.UTF_8));
  }

  /** A client frame: masked, with a zero key (the payload goes as is). */
  private void sendFrame(int b0, byte[] payload) throws IOException {
    int len = payload.length;
    ByteBuffer f = ByteBuffer.allocate(len + 8 + (len < 126 ? 0 : 2));
    f.put((byte) b0);
    if (len < 126) {
      f.put((byte) (0x80 | len));
    } else {
      f.put((byte) (0x80 | 126)).putShort((short) len);
    }
    f.putInt(0).put(payload).flip();
    write(f);
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
