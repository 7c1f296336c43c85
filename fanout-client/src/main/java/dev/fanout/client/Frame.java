package dev.fanout.client;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A frame from the server as {@link ProtocolClient#nextFrame()} gives it: a whole message (its
 * fragments joined) or a control frame.
 *
 * @param opcode {@link FrameCodec#TEXT}, {@link FrameCodec#BINARY}, {@link FrameCodec#CLOSE},
 *     {@link FrameCodec#PING} or {@link FrameCodec#PONG}
 * @param compressed whether the message's first frame had RSV1 set (permessage-deflate)
 * @param payload the payload as received (not inflated)
 */
public record Frame(int opcode, boolean compressed, byte[] payload) {
  /** The close code a close frame without one stands for (RFC 6455 7.1.5). */
  public static final int NO_STATUS = 1005;

  public Frame {
    payload = payload.clone();
  }

  @Override
  public byte[] payload() {
    return payload.clone();
  }

  /** The payload as UTF-8 text. */
  public String text() {
    return new String(payload, StandardCharsets.UTF_8);
  }

  /** A close frame's status code, {@value #NO_STATUS} if it has none. */
  public int closeCode() {
    requireClose();
    return payload.length < 2 ? NO_STATUS : ((payload[0] & 0xFF) << 8) | (payload[1] & 0xFF);
  }

  /** A close frame's reason, empty if it has none. */
  public String closeReason() {
    requireClose();
    return payload.length <= 2 ? ""
        : new String(payload, 2, payload.length - 2, StandardCharsets.UTF_8);
  }

  private void requireClose() {
    if (opcode != FrameCodec.CLOSE) {
      throw new IllegalStateException("not a close frame: " + this);
    }
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Frame f && f.opcode == opcode && f.compressed == compressed
        && Arrays.equals(f.payload, payload);
  }

  @Override
  public int hashCode() {
    return (opcode * 31 + Boolean.hashCode(compressed)) * 31 + Arrays.hashCode(payload);
  }

  @Override
  public String toString() {
    String kind = switch (opcode) {
      case FrameCodec.TEXT -> "text";
      case FrameCodec.BINARY -> "binary";
      case FrameCodec.CLOSE -> "close";
      case FrameCodec.PING -> "ping";
      case FrameCodec.PONG -> "pong";
      default -> "opcode " + opcode;
    };
    String shown = opcode == FrameCodec.TEXT ? text() : payload.length + " bytes";
    if (shown.length() > 200) {
      shown = shown.substring(0, 200) + "...";
    }
    return kind + (compressed ? " (compressed)" : "") + ": " + shown;
  }
}
