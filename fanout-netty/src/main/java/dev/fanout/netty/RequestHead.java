package dev.fanout.netty;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

/**
 * The first handler of a connection: passes the bytes of its HTTP request head (up to and
 * including the blank line) to the HTTP decoder, and holds every byte after it. A client may send
 * its first WebSocket frame in the same packet as the upgrade request; the HTTP decoder would
 * read those bytes as the start of another request and lose them. Once the upgrade's 101 is on
 * its way, {@link Upgrade} puts the frame decoder in this handler's place, and what was held is
 * handed to it on removal, in order. Reading stops while bytes are held, so holding is bounded.
 *
 * <p>It also notices obs-fold (a header line continued on the next line, RFC 9112 5.2), which
 * the HTTP decoder joins silently; {@link Upgrade} refuses it with 400.
 */
final class RequestHead extends ChannelInboundHandlerAdapter {
  private enum State { BEFORE_REQUEST_LINE, LINE_START, IN_LINE, AFTER_CR, ENDED }

  private State state = State.BEFORE_REQUEST_LINE;
  private boolean requestLineDone; // the first line ended: the next lines are header lines
  private boolean emptyLine; // the current line has no bytes so far
  private boolean folded;
  private CompositeByteBuf held;

  /** Whether a header line of the head was continued with obs-fold (leading space or tab). */
  boolean folded() {
    return folded;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof ByteBuf in)) {
      ctx.fireChannelRead(msg);
      return;
    }
    if (state == State.ENDED) {
      hold(ctx, in);
      return;
    }
    int end = scan(in);
    if (end < 0) {
      ctx.fireChannelRead(in);
      return;
    }
    ByteBuf head = in.readRetainedSlice(end - in.readerIndex());
    if (in.isReadable()) {
      hold(ctx, in);
    } else {
      in.release();
    }
    ctx.fireChannelRead(head);
  }

  /** The index just after the head's blank line in {@code in}, or -1 if the head goes on. */
  private int scan(ByteBuf in) {
    for (int i = in.readerIndex(); i < in.writerIndex(); i++) {
      byte b = in.getByte(i);
      switch (state) {
        case BEFORE_REQUEST_LINE: // empty lines before a request are ignored (RFC 9112 2.2)
          if (b != '\r' && b != '\n') {
            state = State.IN_LINE;
            emptyLine = false;
          }
          break;
        case LINE_START: // of a header line, or of the blank line that ends the head
          folded |= b == ' ' || b == '\t';
          emptyLine = b == '\r' || b == '\n';
          state = b == '\r' ? State.AFTER_CR : b == '\n' ? endOfLine() : State.IN_LINE;
          break;
        case IN_LINE:
          state = b == '\r' ? State.AFTER_CR : b == '\n' ? endOfLine() : State.IN_LINE;
          break;
        case AFTER_CR:
          if (b == '\n') {
            state = endOfLine();
          } else { // a bare CR, which the decoder refuses
            emptyLine = false;
            state = State.IN_LINE;
          }
          break;
        default:
          throw new IllegalStateException(state.name());
      }
      if (state == State.ENDED) {
        return i + 1;
      }
    }
    return -1;
  }

  private State endOfLine() {
    if (emptyLine && requestLineDone) {
      return State.ENDED;
    }
    requestLineDone = true;
    emptyLine = true;
    return State.LINE_START;
  }

  private void hold(ChannelHandlerContext ctx, ByteBuf in) {
    if (held == null) {
      held = ctx.alloc().compositeBuffer();
      ctx.channel().config().setAutoRead(false); // until the upgrade takes these bytes, or never
    }
    held.addComponent(true, in);
  }

  /**
   * Hands what was held to the handler now in this one's place (the frame decoder); a closing
   * connection's is dropped.
   */
  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    CompositeByteBuf h = held;
    held = null;
    if (h != null && h.isReadable() && ctx.channel().isActive()) {
      ctx.fireChannelRead(h);
      ctx.fireChannelReadComplete();
    } else if (h != null) {
      h.release();
    }
  }
}
