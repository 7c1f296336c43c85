package dev.fanout.client;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.ThreadLocalRandom;

/**
 * RFC 6455 frames as a client writes and reads them: the one frame codec of fanout's Java
 * clients.
 *
 * <p>Writing: {@link #clientFrame} is a final frame masked as a client must send it; {@link
 * #frame} builds one field by field, including frames the RFC forbids (a reserved bit or opcode,
 * no mask, a length that is not the payload's), for tests of how a server refuses them.
 *
 * <p>Reading: a {@link Decoder} takes bytes as they arrive, in any pieces, and hands out whole
 * messages (continuation frames joined) and control frames (also when they arrive between the
 * fragments of a message). A frame that breaks the RFC fails with a {@link
 * MalformedFrameException}.
 */
public final class FrameCodec {
  public static final int CONTINUATION = 0x0;
  public static final int TEXT = 0x1;
  public static final int BINARY = 0x2;
  public static final int CLOSE = 0x8;
  public static final int PING = 0x9;
  public static final int PONG = 0xA;

  /** The most a control frame may carry (RFC 6455 5.5). */
  static final int MAX_CONTROL_PAYLOAD = 125;

  private FrameCodec() {}

  /** One final frame with {@code opcode} and {@code payload}, masked with a random key. */
  public static byte[] clientFrame(int opcode, byte[] payload) {
    return frame(opcode).payload(payload).encode();
  }

  /** A final text frame, masked. */
  public static byte[] text(String text) {
    return clientFrame(TEXT, text.getBytes(StandardCharsets.UTF_8));
  }

  /** A close frame with {@code code} and {@code reason}, masked. */
  public static byte[] close(int code, String reason) {
    byte[] r = reason.getBytes(StandardCharsets.UTF_8);
    byte[] payload = new byte[2 + r.length];
    payload[0] = (byte) (code >>> 8);
    payload[1] = (byte) code;
    System.arraycopy(r, 0, payload, 2, r.length);
    return clientFrame(CLOSE, payload);
  }

  /** A frame to build field by field; by default final, masked, its length the payload's. */
  public static Builder frame(int opcode) {
    return new Builder(opcode);
  }

  /** The fields of one frame; {@link #encode()} writes it exactly as set, legal or not. */
  public static final class Builder {
    private final int opcode;
    private boolean fin = true;
    private int rsv;
    private boolean masked = true;
    private Integer maskKey;
    private byte[] payload = new byte[0];
    private long declaredLength = -1;
    private int lengthBytes = -1;

    private Builder(int opcode) {
      if (opcode < 0 || opcode > 0xF) {
        throw new IllegalArgumentException("an opcode is 4 bits, got " + opcode);
      }
      this.opcode = opcode;
    }

    /** Whether this is the last frame of its message (default true). */
    public Builder fin(boolean fin) {
      this.fin = fin;
      return this;
    }

    /** RSV1 (permessage-deflate's "compressed" bit, RFC 7692). */
    public Builder rsv1() {
      return rsv(0x4);
    }

    /** The three reserved bits, RSV1 = 4, RSV2 = 2, RSV3 = 1. */
    public Builder rsv(int bits) {
      if (bits < 0 || bits > 7) {
        throw new IllegalArgumentException("the reserved bits are 3 bits, got " + bits);
      }
      this.rsv = bits;
      return this;
    }

    /** Without a mask, as a client must never send. */
    public Builder unmasked() {
      this.masked = false;
      return this;
    }

    /** This mask key instead of a random one (0 leaves the payload as it is). */
    public Builder maskKey(int key) {
      this.maskKey = key;
      return this;
    }

    public Builder payload(byte[] payload) {
      this.payload = payload.clone();
      return this;
    }

    /** A length field that says {@code length}, whatever the payload (an oversized claim). */
    public Builder declaredLength(long length) {
      if (length < 0) {
        throw new IllegalArgumentException("a frame length is unsigned, got " + length);
      }
      this.declaredLength = length;
      return this;
    }

    /**
     * The length in the 0-, 2- or 8-byte form whatever its size (RFC 6455 asks for the shortest),
     * or -1 for the shortest.
     */
    public Builder lengthBytes(int bytes) {
      if (bytes != -1 && bytes != 0 && bytes != 2 && bytes != 8) {
        throw new IllegalArgumentException("a length takes 0, 2 or 8 extra bytes, got " + bytes);
      }
      this.lengthBytes = bytes;
      return this;
    }

    /** The frame's bytes. */
    public byte[] encode() {
      long length = declaredLength >= 0 ? declaredLength : payload.length;
      int extra = lengthBytes >= 0 ? lengthBytes : length < 126 ? 0 : length <= 0xFFFF ? 2 : 8;
      if ((extra == 0 && length > 125) || (extra == 2 && length > 0xFFFF)) {
        throw new IllegalArgumentException(length + " does not fit a " + extra + "-byte length");
      }
      ByteBuffer f = ByteBuffer.allocate(2 + extra + (masked ? 4 : 0) + payload.length);
      f.put((byte) ((fin ? 0x80 : 0) | (rsv << 4) | opcode));
      int mask = masked ? 0x80 : 0;
      if (extra == 0) {
        f.put((byte) (mask | length));
      } else if (extra == 2) {
        f.put((byte) (mask | 126)).putShort((short) length);
      } else {
        f.put((byte) (mask | 127)).putLong(length);
      }
      if (!masked) {
        return f.put(payload).array();
      }
      int key = maskKey != null ? maskKey : ThreadLocalRandom.current().nextInt();
      f.putInt(key);
      byte[] k = {(byte) (key >>> 24), (byte) (key >>> 16), (byte) (key >>> 8), (byte) key};
      for (int i = 0; i < payload.length; i++) {
        f.put((byte) (payload[i] ^ k[i & 3]));
      }
      return f.array();
    }
  }

  /** A frame or message that breaks RFC 6455, or one larger than the decoder takes. */
  public static final class MalformedFrameException extends IOException {
    private static final long serialVersionUID = 1L;

    MalformedFrameException(String message) {
      super(message);
    }
  }

  /**
   * Decodes frames from bytes as they arrive. Not thread-safe: one reader feeds it. A payload a
   * {@link Handler} is given lives in the decoder's buffer and is valid only during the call.
   */
  public static final class Decoder {
    /** What a decoder hands out. Runs on the thread that feeds the decoder. */
    public interface Handler {
      /**
       * A whole text or binary message in {@code b[from, to)}: its frames joined, {@code
       * compressed} when its first frame had RSV1 set.
       */
      void message(int opcode, boolean compressed, byte[] b, int from, int to) throws IOException;

      /** A ping, pong or close frame in {@code b[from, to)}. */
      void control(int opcode, byte[] b, int from, int to) throws IOException;
    }

    private final Handler handler;
    private final boolean fromServer;
    private final int maxMessageBytes;
    private byte[] in = new byte[512]; // bytes received and not yet decoded
    private int inLength;
    private byte[] message = new byte[0]; // a fragmented message being joined
    private int messageLength;
    private int messageOpcode = -1; // -1: no fragmented message under way
    private boolean messageCompressed;

    private Decoder(Handler handler, boolean fromServer, int maxMessageBytes) {
      if (maxMessageBytes < 1) {
        throw new IllegalArgumentException("max message bytes must be positive");
      }
      this.handler = handler;
      this.fromServer = fromServer;
      this.maxMessageBytes = maxMessageBytes;
    }

    /** A decoder of what a server sends: frames that must not be masked. */
    public static Decoder ofServerFrames(Handler handler, int maxMessageBytes) {
      return new Decoder(handler, true, maxMessageBytes);
    }

    /** A decoder of what a client sends: frames that must be masked (for scripted servers). */
    public static Decoder ofClientFrames(Handler handler, int maxMessageBytes) {
      return new Decoder(handler, false, maxMessageBytes);
    }

    /** Decodes {@code b[off, off + len)}, handing out every frame they complete. */
    public void feed(byte[] b, int off, int len) throws IOException {
      ensure(len);
      System.arraycopy(b, off, in, inLength, len);
      inLength += len;
      decode();
    }

    /** Decodes the buffer's remaining bytes, handing out every frame they complete. */
    public void feed(ByteBuffer bytes) throws IOException {
      int len = bytes.remaining();
      ensure(len);
      bytes.get(in, inLength, len);
      inLength += len;
      decode();
    }

    /** Forgets bytes and message parts received so far (for a new connection). */
    public void reset() {
      inLength = 0;
      messageLength = 0;
      messageOpcode = -1;
    }

    private void ensure(int more) {
      if (inLength + more > in.length) {
        in = Arrays.copyOf(in, Math.max(in.length * 2, inLength + more));
      }
    }

    private void decode() throws IOException {
      int at = 0;
      try {
        while (inLength - at >= 2) {
          int used = frame(at);
          if (used == 0) {
            break;
          }
          at += used;
        }
      } finally {
        if (at > 0) {
          System.arraycopy(in, at, in, 0, inLength - at);
          inLength -= at;
        }
      }
    }

    /** Decodes the frame at {@code at}; returns its size, or 0 if it is not all here yet. */
    private int frame(int at) throws IOException {
      int b0 = in[at] & 0xFF;
      int b1 = in[at + 1] & 0xFF;
      boolean fin = (b0 & 0x80) != 0;
      int rsv = (b0 >>> 4) & 0x7;
      int opcode = b0 & 0x0F;
      boolean masked = (b1 & 0x80) != 0;
      if (masked == fromServer) {
        throw new MalformedFrameException(fromServer ? "a server frame must not be masked"
            : "a client frame must be masked");
      }
      if ((rsv & 0x3) != 0) {
        throw new MalformedFrameException("RSV2 or RSV3 set without an extension for them");
      }
      int header = 2;
      long length = b1 & 0x7F;
      if (length == 126) {
        header = 4;
        if (inLength - at < header) {
          return 0;
        }
        length = ((in[at + 2] & 0xFF) << 8) | (in[at + 3] & 0xFF);
      } else if (length == 127) {
        header = 10;
        if (inLength - at < header) {
          return 0;
        }
        length = 0;
        for (int i = 0; i < 8; i++) {
          length = (length << 8) | (in[at + 2 + i] & 0xFF);
        }
        if (length < 0) {
          throw new MalformedFrameException("a 64-bit length with its top bit set");
        }
      }
      boolean control = (opcode & 0x8) != 0;
      if (control && (!fin || rsv != 0 || length > MAX_CONTROL_PAYLOAD)) {
        throw new MalformedFrameException(
            "a control frame must be final, without RSV bits, and carry at most 125 bytes");
      }
      if (length > maxMessageBytes - (control ? 0 : messageLength)) {
        throw new MalformedFrameException("a message over " + maxMessageBytes + " bytes");
      }
      int maskAt = at + header;
      if (masked) {
        header += 4;
      }
      if (inLength - at - header < length) {
        ensure(header + (int) length); // the rest of this frame fits without another copy
        return 0;
      }
      int from = at + header;
      int to = from + (int) length;
      if (masked) {
        for (int i = from; i < to; i++) {
          in[i] ^= in[maskAt + ((i - from) & 3)];
        }
      }
      switch (opcode) {
        case CLOSE:
        case PING:
        case PONG:
          handler.control(opcode, in, from, to);
          break;
        case TEXT:
        case BINARY:
          if (messageOpcode != -1) {
            throw new MalformedFrameException("a new message inside a fragmented one");
          }
          if (fin) {
            handler.message(opcode, rsv != 0, in, from, to);
          } else {
            messageOpcode = opcode;
            messageCompressed = rsv != 0;
            append(from, to);
          }
          break;
        case CONTINUATION:
          if (messageOpcode == -1) {
            throw new MalformedFrameException("a continuation frame with no message to continue");
          }
          if (rsv != 0) {
            throw new MalformedFrameException("RSV1 set on a continuation frame");
          }
          append(from, to);
          if (fin) {
            int op = messageOpcode;
            messageOpcode = -1;
            int n = messageLength;
            messageLength = 0;
            handler.message(op, messageCompressed, message, 0, n);
          }
          break;
        default:
          throw new MalformedFrameException("reserved opcode 0x" + Integer.toHexString(opcode));
      }
      return header + (int) length;
    }

    private void append(int from, int to) {
      int n = to - from;
      if (messageLength + n > message.length) {
        message = Arrays.copyOf(message, Math.max(message.length * 2, messageLength + n));
      }
      System.arraycopy(in, from, message, messageLength, n);
      messageLength += n;
    }
  }
}
