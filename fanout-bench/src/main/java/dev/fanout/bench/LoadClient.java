package dev.fanout.bench;

import dev.fanout.client.FrameCodec;
import dev.fanout.client.ResumePoint;
import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * One simulated dashboard over WebSocket: the upgrade, then it subscribes to one merchant (or
 * all), reads every frame, and hands each event to the {@link Tally} ({@link LeanClient}). On a
 * new {@link #connect} it resumes by the clients' one rule ({@link ResumePoint}), as
 * fanout-client.js does. Frames are decoded by fanout-client's {@link FrameCodec}. Answers pings,
 * and closes when the server closes.
 */
final class LoadClient extends LeanClient {
  private static final byte[] HEADER_END = ascii("\r\n\r\n");
  private static final byte[] POSITION = ascii("\"position\":\"");
  private static final byte[] REPLAY = ascii("\"replay\":");
  private static final int MAX_MESSAGE_BYTES = 16 << 20;

  private final boolean plain; // the Go reference's protocol: no 'subscribed', ids without epoch
  private final ResumePoint resume = new ResumePoint();
  private final FrameCodec.Decoder decoder =
      FrameCodec.Decoder.ofServerFrames(new Frames(), MAX_MESSAGE_BYTES);

  // Touched only on the io thread.
  private boolean upgraded;
  private byte[] in = new byte[512]; // bytes of the upgrade's answer read so far
  private int inLength;

  LoadClient(LeanSockets io, URI uri, String merchant, Tally tally, boolean plain) {
    super(io, uri, merchant, tally);
    this.plain = plain;
  }

  @Override
  void resetConnection() {
    upgraded = false;
    inLength = 0;
    decoder.reset();
    resume.disconnected();
  }

  @Override
  byte[] request() {
    String path = uri.getRawPath() + (uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery());
    return ascii("GET " + path + " HTTP/1.1\r\nHost: " + hostHeader()
        + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Key: ZmFub3V0LWxvYWQtZ2VuIQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
  }

  @Override
  void received(ByteBuffer buf) throws IOException {
    if (upgraded) {
      decoder.feed(buf);
      return;
    }
    int n = buf.remaining();
    if (inLength + n > in.length) {
      in = Arrays.copyOf(in, Math.max(in.length * 2, inLength + n));
    }
    buf.get(in, inLength, n);
    inLength += n;
    handshake();
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
  @Override
  String resumeFrom() {
    return resume.resumeFrom();
  }

  @Override
  void subscribedFrame(byte[] b, int from, int to, boolean recovered) {
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
    resume.subscribed(recovered, position, r < 0 ? 0 : number(b, digits, e));
  }

  @Override
  void droppedFrame() {
    resume.dropped(); // events are missing: resume from the last one received
  }

  @Override
  void eventReceived(byte[] b, int from, int to) {
    resume.event(new String(b, from, to - from, StandardCharsets.US_ASCII));
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
        send(FrameCodec.clientFrame(FrameCodec.CLOSE,
            Arrays.copyOfRange(b, from, from + Math.min(to - from, 2))));
        ended(code);
      } else if (opcode == FrameCodec.PING) {
        send(FrameCodec.clientFrame(FrameCodec.PONG, Arrays.copyOfRange(b, from, to)));
      }
    }
  }

  private void send(byte[] frame) throws IOException {
    write(ByteBuffer.wrap(frame));
  }
}
