package dev.fanout.netty;

import dev.fanout.protocol.Authentication;
import dev.fanout.protocol.FanoutNode;
import dev.fanout.protocol.Handshake;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.websocketx.Utf8FrameValidator;
import io.netty.handler.codec.http.websocketx.WebSocketDecoderConfig;
import io.netty.handler.codec.http.websocketx.WebSocketFrameAggregator;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshaker;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshakerFactory;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The first handler of a connection: answers its HTTP request. A WebSocket upgrade on the
 * endpoint's path is checked by the node (Origin, authentication, caps, draining) before
 * anything is upgraded; a refusal gets its status and a one-line body. An accepted one becomes a
 * {@link Connection}: this handler and the HTTP codec leave the pipeline. Other paths go to the
 * server's {@link HttpService}, one request per connection.
 */
final class Upgrade extends SimpleChannelInboundHandler<FullHttpRequest> {
  private static final Logger log = LoggerFactory.getLogger(Upgrade.class);

  record Settings(FanoutNode node, String path, boolean compression, HttpService http,
      SharedFrames frames, Duration requestTimeout) {}

  private final Settings settings;
  private ScheduledFuture<?> deadline;

  Upgrade(Settings settings) {
    this.settings = settings;
  }

  /** From accept, the request must arrive whole within the timeout, or the connection closes. */
  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    deadline = ctx.executor().schedule(() -> ctx.close(), settings.requestTimeout.toNanos(),
        TimeUnit.NANOSECONDS);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    deadline.cancel(false);
    super.channelInactive(ctx);
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
    deadline.cancel(false);
    URI uri;
    try {
      uri = URI.create(req.uri());
    } catch (IllegalArgumentException e) {
      respond(ctx, 400, "malformed request URI");
      return;
    }
    InetSocketAddress remote = (InetSocketAddress) ctx.channel().remoteAddress();
    if (!settings.path.equals(uri.getRawPath())) {
      serve(ctx, req, Handshake.of(uri, headers(req), null, remote));
      return;
    }
    if (!HttpMethod.GET.equals(req.method())
        || !"websocket".equalsIgnoreCase(req.headers().get(HttpHeaderNames.UPGRADE))) {
      respond(ctx, 400, "a WebSocket upgrade is expected here");
      return;
    }
    FanoutNode node = settings.node;
    if (!"13".equals(req.headers().get(HttpHeaderNames.SEC_WEBSOCKET_VERSION))) {
      node.refused(426, "WebSocket version 13 required"); // RFC 6455 4.4: say which
      FullHttpResponse r = response(426, "WebSocket version 13 required");
      r.headers().set(HttpHeaderNames.SEC_WEBSOCKET_VERSION, "13");
      ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
      return;
    }
    // What the handshaker would otherwise throw on, after the pipeline has changed (RFC 6455
    // 4.2.1): answered as a container answers it.
    if (!req.headers().containsValue(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE, true)) {
      respond(ctx, 400, "a WebSocket upgrade needs Connection: Upgrade");
      return;
    }
    if (!req.headers().contains(HttpHeaderNames.SEC_WEBSOCKET_KEY)) {
      respond(ctx, 400, "a WebSocket upgrade needs Sec-WebSocket-Key");
      return;
    }
    Authentication auth = node.check(Handshake.of(uri, headers(req), null, remote));
    if (!auth.allowed()) {
      respond(ctx, auth.status(), auth.reason());
      return;
    }
    int max = bufferLimit(node);
    WebSocketServerHandshaker handshaker = new WebSocketServerHandshakerFactory(
        "ws://" + req.headers().get(HttpHeaderNames.HOST) + settings.path, null,
        WebSocketDecoderConfig.newBuilder().maxFramePayloadLength(max)
            .allowExtensions(settings.compression).build())
        .newHandshaker(req);
    if (handshaker == null) {
      WebSocketServerHandshakerFactory.sendUnsupportedVersionResponse(ctx.channel());
      return;
    }
    // Frames go out pre-encoded and shared, unless this connection may deflate them.
    Connection connection = new Connection(ctx.channel(), settings.compression ? null
        : settings.frames, node.settings().closeDeadline());
    ctx.pipeline().replace(this, "fanout", connection);
    ctx.pipeline().addBefore("fanout", "fanout-aggregate", new WebSocketFrameAggregator(max));
    // Text that is not UTF-8 fails the connection with 1007, fragments included (RFC 6455 8.1).
    ctx.pipeline().addBefore("fanout-aggregate", "fanout-utf8", new Utf8FrameValidator(true));
    // Writes the 101 and swaps the HTTP codec for the frame codec; frames written after it follow
    // the response on the wire.
    handshaker.handshake(ctx.channel(), req);
    connection.open(node.open(auth, remote, connection));
  }

  /**
   * The most a connection buffers of one message, after inflating: 4x the protocol's limit (the
   * containers' allowance), so that the protocol's own check closes with its documented reason;
   * only larger still is refused by the codec.
   */
  static int bufferLimit(FanoutNode node) {
    return (int) Math.min(Integer.MAX_VALUE, node.settings().maxMessageBytes() * 4L);
  }

  /** A plain request: the HTTP service's answer, 404 without one, 405 for a method not GET/HEAD. */
  private void serve(ChannelHandlerContext ctx, FullHttpRequest req, Handshake request) {
    boolean head = HttpMethod.HEAD.equals(req.method());
    if (!head && !HttpMethod.GET.equals(req.method())) {
      FullHttpResponse r = response(405, "method not allowed: " + req.method());
      r.headers().set(HttpHeaderNames.ALLOW, "GET, HEAD");
      ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
      return;
    }
    HttpService.Answer answer;
    try {
      answer = settings.http == null ? null : settings.http.answer(request);
    } catch (RuntimeException e) {
      log.warn("the HTTP service failed on {}", req.uri(), e);
      respond(ctx, 500, "internal error");
      return;
    }
    if (answer == null) {
      respond(ctx, 404, "not found");
      return;
    }
    FullHttpResponse r = response(answer.status(), answer.contentType(), answer.body());
    if (head) {
      r.content().clear(); // the headers a GET would get, Content-Length included
    }
    ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
  }

  private static Map<String, List<String>> headers(FullHttpRequest req) {
    Map<String, List<String>> headers = new LinkedHashMap<>();
    for (String name : req.headers().names()) {
      headers.put(name, req.headers().getAll(name));
    }
    return headers;
  }

  private static void respond(ChannelHandlerContext ctx, int status, String text) {
    ctx.writeAndFlush(response(status, text)).addListener(ChannelFutureListener.CLOSE);
  }

  private static FullHttpResponse response(int status, String text) {
    return response(status, "text/plain;charset=utf-8",
        (text + "\n").getBytes(StandardCharsets.UTF_8));
  }

  /** A complete response; the connection closes after it (one request per connection). */
  private static FullHttpResponse response(int status, String contentType, byte[] body) {
    FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
        HttpResponseStatus.valueOf(status), Unpooled.wrappedBuffer(body));
    r.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType)
        .setInt(HttpHeaderNames.CONTENT_LENGTH, body.length)
        .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    return r;
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    ctx.close(); // a malformed request, a reset: nothing to answer
  }
}
