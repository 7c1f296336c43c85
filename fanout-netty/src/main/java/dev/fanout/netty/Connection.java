package dev.fanout.netty;

import dev.fanout.core.Transport;
import dev.fanout.protocol.ProtocolSession;
import dev.fanout.protocol.ProtocolSocket;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.compression.DecompressionException;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CorruptedWebSocketFrameException;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One upgraded connection: the only handler after the frame codec. Hands what arrives to its
 * {@link ProtocolSession}, and is the session's {@link ProtocolSocket}.
 */
final class Connection extends SimpleChannelInboundHandler<WebSocketFrame>
    implements ProtocolSocket {
  private static final Logger log = LoggerFactory.getLogger(Connection.class);
  private final Channel channel;
  private final Duration closeDeadline; // for closes the codec decides
  private final SharedFrames shared; // null when the connection negotiated an extension
  private volatile ProtocolSession session;
  private volatile int closeCode; // the code of the first close frame either side sent; 0: none
  private final AtomicBoolean closeSent = new AtomicBoolean(); // one close frame, whoever sends
  private ByteBuf pendingPong; // event loop only: the latest unanswered ping's payload

  Connection(Channel channel, SharedFrames shared, Duration closeDeadline) {
    this.channel = channel;
    this.closeDeadline = closeDeadline;
    this.shared = shared;
  }

  /** Called on the event loop right after the upgrade, before any frame is read. */
  void open(ProtocolSession session) {
    this.session = session;
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, WebSocketFrame frame) {
    ProtocolSession s = session;
    if (frame instanceof TextWebSocketFrame text) {
      s.textReceived(text.text());
    } else if (frame instanceof BinaryWebSocketFrame) {
      s.binaryReceived();
    } else if (frame instanceof PongWebSocketFrame pong) {
      s.pongReceived(pong.content().nioBuffer());
    } else if (frame instanceof PingWebSocketFrame ping) {
      pong(ctx, ping.content().retain());
    } else if (frame instanceof CloseWebSocketFrame close) {
      int code = close.statusCode() < 0 ? 1005 : close.statusCode();
      if (closeCode == 0) {
        closeCode = code;
      }
      if (!closeSent.compareAndSet(false, true)) {
        ctx.close(); // the peer answered ours
      } else { // echo it, then end the connection (RFC 6455 5.5.1)
        ctx.writeAndFlush(new CloseWebSocketFrame(code == 1005 ? 1000 : code, ""))
            .addListener(ChannelFutureListener.CLOSE);
      }
    }
  }

  /**
   * Answers a ping, or, while the channel holds more than its high water mark (the peer is not
   * reading), keeps only the latest ping's payload and stops reading until the channel drains,
   * then answers it (RFC 6455 5.5.3 allows answering only the most recent ping). A peer that
   * pings without reading costs one pending pong and no reads, as on Jetty, not a buffer that
   * grows with every ping it sends.
   */
  private void pong(ChannelHandlerContext ctx, ByteBuf payload) {
    boolean paused = pendingPong != null; // reading stopped for it
    if (paused) {
      pendingPong.release();
      pendingPong = null;
    }
    if (ctx.channel().isWritable()) {
      ctx.writeAndFlush(new PongWebSocketFrame(payload));
      if (paused) { // drained before its writability event came: read again here
        ctx.channel().config().setAutoRead(true);
      }
    } else {
      pendingPong = payload;
      ctx.channel().config().setAutoRead(false);
    }
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (pendingPong != null && ctx.channel().isWritable()) {
      ByteBuf payload = pendingPong;
      pendingPong = null;
      ctx.writeAndFlush(new PongWebSocketFrame(payload));
      ctx.channel().config().setAutoRead(true);
    }
    ctx.fireChannelWritabilityChanged();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    if (pendingPong != null) {
      pendingPong.release();
      pendingPong = null;
    }
    ProtocolSession s = session;
    if (s != null) {
      s.closed(closeCode == 0 ? 1006 : closeCode);
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (cause instanceof TooLongFrameException) {
      close(1009, "message too big", closeDeadline);
    } else if (cause instanceof DecompressionException) { // permessage-deflate
      // Over the buffer limit once inflated (a deflate bomb: Netty says "maximum size"), or not
      // a deflate stream at all.
      if (String.valueOf(cause.getMessage()).contains("maximum size")) {
        close(1009, "message too big", closeDeadline);
      } else {
        close(1007, "invalid compressed data", closeDeadline);
      }
    } else if (cause instanceof CorruptedWebSocketFrameException corrupt) {
      // The codec (frame decoder or UTF-8 validator) has sent the close frame and closes once it
      // is written: record its code, send no second close, and drop a peer that never reads it.
      if (closeCode == 0) {
        closeCode = corrupt.closeStatus().code();
      }
      if (closeSent.compareAndSet(false, true)) {
        abortAfter(closeDeadline);
      }
    } else {
      if (log.isDebugEnabled()) { // a reset peer is routine: nothing built unless it is logged
        log.debug("connection {}: {}", channel.remoteAddress(), cause.toString());
      }
      ctx.close();
    }
  }

  @Override
  public void send(String frame, Transport.SendCallback done) {
    Object message = shared == null ? new TextWebSocketFrame(frame) : shared.frame(frame);
    channel.writeAndFlush(message).addListener(f ->
        done.completed(f.isSuccess() ? null : f.cause()));
  }

  /**
   * Writes each frame as encoded once for every recipient, then flushes once: one gather write
   * for a hot connection's queued events, nothing encoded for this connection. With
   * permessage-deflate (frames compressed per connection) the session sends a batch frame.
   */
  @Override
  public boolean sendAll(List<String> frames, Transport.SendCallback done) {
    if (shared == null) {
      return false;
    }
    ByteBuf[] encoded = new ByteBuf[frames.size()];
    for (int i = 0; i < encoded.length; i++) {
      encoded[i] = shared.frame(frames.get(i));
    }
    EventLoop loop = channel.eventLoop();
    if (loop.inEventLoop()) {
      writeAll(encoded, done);
    } else {
      try { // one task for all of them, not one per frame
        loop.execute(() -> writeAll(encoded, done));
      } catch (RejectedExecutionException e) { // the loop is shutting down
        for (ByteBuf b : encoded) {
          b.release();
        }
        throw e;
      }
    }
    return true;
  }

  private void writeAll(ByteBuf[] frames, Transport.SendCallback done) {
    int last = frames.length - 1;
    for (int i = 0; i < last; i++) { // a failed write also fails the last one's future
      channel.write(frames[i], channel.voidPromise());
    }
    channel.writeAndFlush(frames[last]).addListener(f ->
        done.completed(f.isSuccess() ? null : f.cause()));
  }

  @Override
  public void ping(byte[] payload) {
    channel.writeAndFlush(new PingWebSocketFrame(Unpooled.wrappedBuffer(payload)));
  }

  /**
   * Sends a close frame and ends the connection once it is written; a peer that is not reading
   * (so the frame never leaves) is reset at the deadline.
   */
  @Override
  public void close(int code, String reason, Duration deadline) {
    if (!channel.isActive() || !closeSent.compareAndSet(false, true)) {
      return;
    }
    if (closeCode == 0) {
      closeCode = code;
    }
    channel.writeAndFlush(new CloseWebSocketFrame(code, reason))
        .addListener(ChannelFutureListener.CLOSE);
    abortAfter(deadline);
  }

  /**
   * Resets the connection at the deadline if it is still open: with SO_LINGER 0 the kernel drops
   * what the peer never read at once, where a plain close would keep it queued behind a FIN for
   * minutes.
   */
  private void abortAfter(Duration deadline) {
    channel.eventLoop().schedule(() -> {
      if (channel.isOpen()) {
        channel.config().setOption(ChannelOption.SO_LINGER, 0);
        channel.close();
      }
    }, deadline.toNanos(), TimeUnit.NANOSECONDS);
  }

  @Override
  public String toString() {
    return "Connection{" + channel.remoteAddress() + "}";
  }
}
