package dev.fanout.netty;

import dev.fanout.core.Transport;
import dev.fanout.protocol.FanoutNode;
import dev.fanout.protocol.Handshake;
import dev.fanout.protocol.SseRequest;
import dev.fanout.protocol.SseSession;
import dev.fanout.protocol.SseSink;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseEncoder;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.websocketx.extensions.compression.WebSocketServerCompressionHandler;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * A Server-Sent Events stream on one connection ({@link SseRequest}): the response is written
 * chunked, the request decoder leaves the pipeline, and whatever the client sends after its
 * request is read and dropped, so a closed connection is noticed at once. On an HTTP/2 stream
 * ({@link Http2c}) the channel is the stream's: the body is its DATA frames, and closing ends the
 * stream, not the connection.
 */
final class SseChannel extends ChannelInboundHandlerAdapter implements SseSink {
  private static final byte[] LAST_CHUNK = "0\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
  private final ChannelHandlerContext upgrade; // the context of the handler this one replaces
  private final Duration closeDeadline;
  private final SharedFrames texts;
  private volatile SseSession session;
  private volatile boolean gone;
  // on the event loop: the head is written; the encoder is gone, the body is written as chunks;
  // close() came before the head's task
  private boolean headWritten;
  private boolean framed;
  private boolean endAfterHead;

  SseChannel(ChannelHandlerContext upgrade, Duration closeDeadline, SharedFrames texts) {
    this.upgrade = upgrade;
    this.closeDeadline = closeDeadline;
    this.texts = texts;
  }

  /**
   * Serves the request on the connection of {@code ctx} (the {@link Upgrade} handler's); {@code
   * texts} encodes what streams write, once per text instance.
   */
  static void serve(ChannelHandlerContext ctx, FanoutNode node, Handshake request,
      SharedFrames texts) {
    SseChannel channel = new SseChannel(ctx, node.settings().closeDeadline(), texts);
    SseSession s = SseRequest.serve(node, request, channel);
    if (s != null) {
      channel.session = s;
      if (channel.gone) {
        s.closed();
      }
    }
  }

  @Override
  public void refuse(int status, Map<String, String> headers, String body) {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
        HttpResponseStatus.valueOf(status), Unpooled.wrappedBuffer(bytes));
    headers.forEach(r.headers()::set);
    if (status != 204) {
      r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, bytes.length);
    }
    r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    upgrade.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
  }

  /** This handler takes the connection: from now on it hears when the client is gone. */
  @Override
  public void accept() {
    var p = upgrade.pipeline();
    if (!onHttp2Stream()) { // a stream's pipeline has neither
      p.remove(RequestHead.class); // nothing more is held back: the stream reads nothing
      p.remove(HttpRequestDecoder.class);
    }
    p.replace(upgrade.handler(), "fanout-sse", this);
    upgrade.channel().config().setAutoRead(true);
  }

  /**
   * The head, on the event loop: writes queued after it from other threads follow it. On
   * HTTP/1.1 the response encoder leaves the pipeline once the head is through it: the body's
   * chunks are framed once per text ({@link SharedFrames#chunks}) and written as they are. A
   * {@link #close} that reached the loop first (called on another thread meanwhile) ends the
   * stream now, after its head.
   */
  @Override
  public void start(Map<String, String> headers) {
    HttpResponse r = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
    headers.forEach(r.headers()::set);
    Channel ch = upgrade.channel();
    boolean chunked = !onHttp2Stream(); // on a stream the framing is HTTP/2's, the connection
    if (chunked) { // not ours
      r.headers().set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED)
          .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    }
    onLoop(() -> {
      ch.write(r);
      if (chunked) {
        ChannelPipeline p = ch.pipeline();
        p.remove(HttpResponseEncoder.class);
        if (p.get(WebSocketServerCompressionHandler.class) != null) {
          p.remove(WebSocketServerCompressionHandler.class);
        }
        framed = true;
      }
      headWritten = true;
      if (endAfterHead) {
        end(ch);
      }
    });
  }

  private void onLoop(Runnable task) {
    EventLoop loop = upgrade.channel().eventLoop();
    if (loop.inEventLoop()) {
      task.run();
    } else {
      loop.execute(task);
    }
  }

  /** Whether this is an HTTP/2 stream's channel ({@link Http2c}), not a connection's. */
  private boolean onHttp2Stream() {
    return upgrade.channel() instanceof Http2StreamChannel;
  }

  @Override
  public void write(String text, Transport.SendCallback done) {
    if (text.isEmpty()) { // an empty chunk would end the body
      done.completed(null);
      return;
    }
    upgrade.channel().writeAndFlush(body(text)) // an event's text: shared bytes
        .addListener(f -> done.completed(f.isSuccess() ? null : f.cause()));
  }

  /** One task for all of them, one flush, as a WebSocket connection writes a batch. */
  @Override
  public void writeAll(List<String> texts, Transport.SendCallback done) {
    List<Object> bodies = new ArrayList<>(texts.size());
    for (String t : texts) {
      if (!t.isEmpty()) {
        bodies.add(body(t));
      }
    }
    if (bodies.isEmpty()) {
      done.completed(null);
      return;
    }
    Channel ch = upgrade.channel();
    try {
      onLoop(() -> {
        int last = bodies.size() - 1;
        for (int i = 0; i < last; i++) { // a failed write also fails the last one's future
          ch.write(bodies.get(i), ch.voidPromise());
        }
        ch.writeAndFlush(bodies.get(last))
            .addListener(f -> done.completed(f.isSuccess() ? null : f.cause()));
      });
    } catch (RejectedExecutionException e) { // the loop is shutting down
      bodies.forEach(ReferenceCountUtil::release);
      done.completed(e);
    }
  }

  /** {@code text} as the body continues: a chunk on HTTP/1.1, DATA on an HTTP/2 stream. */
  private Object body(String text) {
    ByteBuf chunk = texts.frame(text);
    return onHttp2Stream() ? new DefaultHttpContent(SharedFrames.payload(chunk)) : chunk;
  }

  /**
   * Ends the chunked body, so the client sees a complete response, and closes; a client that
   * does not read is cut off at the node's close deadline.
   */
  @Override
  public void close() {
    Channel ch = upgrade.channel();
    onLoop(() -> {
      if (headWritten) {
        end(ch);
      } else {
        endAfterHead = true; // the head's task is still to come
      }
      ch.eventLoop().schedule(() -> {
        ch.close();
      }, closeDeadline.toNanos(), TimeUnit.NANOSECONDS);
    });
  }

  private void end(Channel ch) {
    ch.writeAndFlush(framed ? Unpooled.wrappedBuffer(LAST_CHUNK)
        : LastHttpContent.EMPTY_LAST_CONTENT).addListener(ChannelFutureListener.CLOSE);
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    ReferenceCountUtil.release(msg); // a stream reads nothing
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    gone = true;
    SseSession s = session;
    if (s != null) {
      s.closed();
    }
    super.channelInactive(ctx);
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    ctx.close();
  }
}
