package dev.fanout.netty;

import dev.fanout.core.Transport;
import dev.fanout.protocol.FanoutNode;
import dev.fanout.protocol.Handshake;
import dev.fanout.protocol.SseRequest;
import dev.fanout.protocol.SseSession;
import dev.fanout.protocol.SseSink;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A Server-Sent Events stream on one connection ({@link SseRequest}): the response is written
 * chunked, the request decoder leaves the pipeline, and whatever the client sends after its
 * request is read and dropped, so a closed connection is noticed at once. On an HTTP/2 stream
 * ({@link Http2c}) the channel is the stream's: the body is its DATA frames, and closing ends the
 * stream, not the connection.
 */
final class SseChannel extends ChannelInboundHandlerAdapter implements SseSink {
  private final ChannelHandlerContext upgrade; // the context of the handler this one replaces
  private final Duration closeDeadline;
  private final SharedFrames texts;
  private volatile SseSession session;
  private volatile boolean gone;

  private SseChannel(ChannelHandlerContext upgrade, Duration closeDeadline, SharedFrames texts) {
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

  /** The head, on the event loop: writes queued after it from other threads follow it. */
  @Override
  public void start(Map<String, String> headers) {
    HttpResponse r = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
    headers.forEach(r.headers()::set);
    if (!onHttp2Stream()) { // on a stream the framing is HTTP/2's, the connection not ours
      r.headers().set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED)
          .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    }
    upgrade.channel().write(r);
  }

  /** Whether this is an HTTP/2 stream's channel ({@link Http2c}), not a connection's. */
  private boolean onHttp2Stream() {
    return upgrade.channel() instanceof Http2StreamChannel;
  }

  @Override
  public void write(String text, Transport.SendCallback done) {
    var ch = upgrade.channel();
    ch.writeAndFlush(new DefaultHttpContent(texts.frame(text))) // an event's text: shared bytes
        .addListener(f -> done.completed(f.isSuccess() ? null : f.cause()));
  }

  /**
   * Ends the chunked body, so the client sees a complete response, and closes; a client that
   * does not read is cut off at the node's close deadline.
   */
  @Override
  public void close() {
    Channel ch = upgrade.channel();
    ch.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT).addListener(ChannelFutureListener.CLOSE);
    ch.eventLoop().schedule(() -> {
      ch.close();
    }, closeDeadline.toNanos(), TimeUnit.NANOSECONDS);
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
