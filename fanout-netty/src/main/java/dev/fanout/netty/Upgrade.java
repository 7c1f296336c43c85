package dev.fanout.netty;

import dev.fanout.protocol.Authentication;
import dev.fanout.protocol.FanoutNode;
import dev.fanout.protocol.Handshake;
import dev.fanout.protocol.HttpEdge;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.HttpResponseEncoder;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.handler.codec.http.websocketx.Utf8FrameValidator;
import io.netty.handler.codec.http.websocketx.WebSocket13FrameDecoder;
import io.netty.handler.codec.http.websocketx.WebSocket13FrameEncoder;
import io.netty.handler.codec.http.websocketx.WebSocketDecoderConfig;
import io.netty.handler.codec.http.websocketx.WebSocketFrameAggregator;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * Answers a connection's one HTTP request, from its head alone (a body is never read). The edge
 * is as strict as a servlet container's: a request the HTTP decoder failed on is answered 431,
 * 414 or 400 and never upgraded, and so is one that is ambiguous to whoever reads it next
 * (obs-fold, no or two Hosts, Content-Length with Transfer-Encoding, an ambiguous path: see
 * {@link HttpEdge}). A WebSocket upgrade on the endpoint's path is then checked by the node
 * (Origin, authentication, caps, draining) before anything is upgraded; a refusal gets its status
 * and a one-line body. An accepted one becomes a {@link Connection}: the HTTP codec leaves the
 * pipeline, the frame codec takes its place, and the bytes that followed the request head
 * ({@link RequestHead} held them) are its first input. Other paths go to the server's {@link
 * HttpService}; the connection closes after the answer. On an HTTP/2 stream ({@link Http2c}) it
 * answers the stream's request the same way, but never upgrades to WebSocket, and closing ends the
 * stream; with h2c on, an HTTP/1.1 {@code Upgrade: h2c} on another path than the endpoint's is
 * answered 101 and the connection becomes HTTP/2.
 */
final class Upgrade extends ChannelInboundHandlerAdapter {
  private static final String ACCEPT_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"; // RFC 6455
  /** host or [IPv6], then an optional port: an RFC 3986 authority without user info. */
  private static final Pattern HOST = Pattern.compile(
      "(([A-Za-z0-9._~!$&'()*+,;=-]|%[0-9A-Fa-f]{2})+|\\[[0-9A-Fa-f:.]+])(:[0-9]{0,5})?");

  record Settings(FanoutNode node, String path, boolean compression, HttpService http,
      SharedFrames frames, Duration requestTimeout, ThrottledLog log, String ssePath,
      boolean http2, SharedFrames sseTexts) {}

  private final Settings settings;
  private final boolean stream; // an HTTP/2 stream's request (Http2c), not a connection's
  private ScheduledFuture<?> deadline;
  private boolean answered; // the request got its answer (or its upgrade): nothing else is read

  Upgrade(Settings settings) {
    this(settings, false);
  }

  /** With {@code stream}, answers the request of one HTTP/2 stream ({@link Http2c}). */
  Upgrade(Settings settings, boolean stream) {
    this.settings = settings;
    this.stream = stream;
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

  /** Replaced by what answers the connection, or by HTTP/2's handlers ({@link Http2c}). */
  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    if (deadline != null) {
      deadline.cancel(false);
    }
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    try {
      if (!answered && msg instanceof HttpRequest req) {
        answered = true;
        deadline.cancel(false);
        answer(ctx, req);
      }
    } finally {
      ReferenceCountUtil.release(msg); // its content, if any, is not read
    }
  }

  private void answer(ChannelHandlerContext ctx, HttpRequest req) {
    DecoderResult decoded = req.decoderResult();
    if (decoded.isFailure()) { // never act on the part of a request that was read
      Throwable cause = decoded.cause();
      if (cause instanceof TooLongHttpHeaderException) {
        respond(ctx, 431, "request headers too large");
      } else if (cause instanceof TooLongHttpLineException) {
        respond(ctx, 414, "request line too long");
      } else {
        respond(ctx, 400, "malformed request");
      }
      return;
    }
    HttpVersion version = req.protocolVersion();
    if (!HttpVersion.HTTP_1_1.equals(version) && !HttpVersion.HTTP_1_0.equals(version)) {
      respond(ctx, 505, "HTTP/1.1 or HTTP/1.0 only");
      return;
    }
    String malformed = malformed(ctx, req, stream);
    if (malformed != null) {
      respond(ctx, 400, malformed);
      return;
    }
    URI uri = target(req);
    if (uri == null) {
      if (isStream(req)) { // the stream's refusals are JSON (SseRequest), as SseServlet's
        ctx.writeAndFlush(response(400, "application/json", ("{\"accepted\":false,"
            + "\"status\":400,\"reason\":\"malformed or ambiguous request target\","
            + "\"code\":\"bad_request\"}").getBytes(StandardCharsets.UTF_8)))
            .addListener(ChannelFutureListener.CLOSE);
      } else {
        respond(ctx, 400, "malformed or ambiguous request target");
      }
      return;
    }
    InetSocketAddress remote = (InetSocketAddress) (stream ? ctx.channel().parent()
        : ctx.channel()).remoteAddress();
    if (stream && settings.path.equals(uri.getRawPath())) {
      respond(ctx, 400, "a WebSocket upgrade needs HTTP/1.1"); // no RFC 8441 here
      return;
    }
    if (!stream && settings.http2 && !settings.path.equals(uri.getRawPath())
        && Http2c.asksUpgrade(req)) {
      Http2Settings peer = Http2c.peerSettings(req);
      if (peer != null) { // else it is served on HTTP/1.1, as by a server without h2c
        upgradeToHttp2(ctx, req, peer);
        return;
      }
    }
    if (uri.getRawPath().equals(settings.ssePath) && HttpMethod.GET.equals(req.method())) {
      if (!HttpVersion.HTTP_1_1.equals(version)) {
        respond(ctx, 400, "a stream needs HTTP/1.1");
        return;
      }
      SseChannel.serve(ctx, settings.node, Handshake.of(uri, headers(req), null, remote),
          settings.sseTexts);
      return;
    }
    if (!settings.path.equals(uri.getRawPath())) {
      serve(ctx, req, Handshake.of(uri, headers(req), null, remote));
      return;
    }
    if (!HttpMethod.GET.equals(req.method())
        || !"websocket".equalsIgnoreCase(req.headers().get(HttpHeaderNames.UPGRADE))) {
      respond(ctx, 400, "a WebSocket upgrade is expected here");
      return;
    }
    if (!HttpVersion.HTTP_1_1.equals(version)) { // RFC 6455 4.1
      respond(ctx, 400, "a WebSocket upgrade needs HTTP/1.1");
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
    if (!req.headers().containsValue(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE, true)) {
      respond(ctx, 400, "a WebSocket upgrade needs Connection: Upgrade");
      return;
    }
    List<String> keys = req.headers().getAll(HttpHeaderNames.SEC_WEBSOCKET_KEY);
    if (keys.size() != 1 || !HttpEdge.isWebSocketKey(keys.get(0))) { // RFC 6455 4.2.1
      respond(ctx, 400, "a WebSocket upgrade needs one Sec-WebSocket-Key: 16 bytes in base64");
      return;
    }
    Authentication auth = node.check(Handshake.of(uri, headers(req), null, remote));
    if (!auth.allowed()) {
      respond(ctx, auth.status(), auth.reason());
      return;
    }
    accept(ctx, keys.get(0), auth, remote);
  }

  /**
   * Why the head is refused with 400, or null: what a proxy in front could read otherwise than
   * this server (RFC 9112: obs-fold 5.2, Host 3.2; Content-Length with Transfer-Encoding is the
   * decoder's to refuse, 6.1).
   */
  private static String malformed(ChannelHandlerContext ctx, HttpRequest req, boolean stream) {
    RequestHead head = ctx.pipeline().get(RequestHead.class);
    if (head != null && head.folded()) {
      return "folded header lines (obs-fold) are not accepted";
    }
    List<String> hosts = req.headers().getAll(HttpHeaderNames.HOST);
    boolean http11 = HttpVersion.HTTP_1_1.equals(req.protocolVersion());
    // an HTTP/2 request's :authority becomes its Host, and may be absent (RFC 9113 8.3.1)
    if (hosts.size() > 1 || (http11 && hosts.isEmpty() && !stream)
        || (hosts.size() == 1 && !HOST.matcher(hosts.get(0)).matches())) {
      return "a request needs one valid Host header";
    }
    return null;
  }

  /** Whether {@code req} asks for the SSE stream, going by its target's path as sent. */
  private boolean isStream(HttpRequest req) {
    String target = req.uri();
    int q = target.indexOf('?');
    return settings.ssePath != null && HttpMethod.GET.equals(req.method())
        && (q < 0 ? target : target.substring(0, q)).equals(settings.ssePath);
  }

  /**
   * The request target as a URI of its path and query, or null when it is malformed or its path
   * is ambiguous: origin form ({@code /path?query}), or absolute form whose authority is the
   * Host's. The path is checked before it is parsed, so that {@code //x} is refused, not read as
   * the authority {@code x} of a network-path reference with an empty path.
   */
  private static URI target(HttpRequest req) {
    String target = req.uri();
    String pathAndQuery = target;
    try {
      if (!target.startsWith("/")) {
        URI u = new URI(target);
        String scheme = String.valueOf(u.getScheme()).toLowerCase(Locale.ROOT);
        if (!List.of("http", "https", "ws", "wss").contains(scheme)
            || u.getRawAuthority() == null || u.getRawPath() == null
            || !u.getRawAuthority().equalsIgnoreCase(req.headers().get(HttpHeaderNames.HOST))) {
          return null;
        }
        pathAndQuery = (u.getRawPath().isEmpty() ? "/" : u.getRawPath())
            + (u.getRawQuery() == null ? "" : "?" + u.getRawQuery());
      }
      int q = pathAndQuery.indexOf('?');
      if (pathAndQuery.indexOf('#') >= 0
          || HttpEdge.isAmbiguousPath(q < 0 ? pathAndQuery : pathAndQuery.substring(0, q))) {
        return null;
      }
      return new URI(pathAndQuery);
    } catch (URISyntaxException e) {
      return null;
    }
  }

  /**
   * The most a connection buffers of one message, after inflating: 4x the node's limit (the
   * containers' allowance), so that the protocol's own check closes with its documented reason;
   * only larger still is refused by the codec.
   */
  static int bufferLimit(FanoutNode node) {
    return (int) Math.min(Integer.MAX_VALUE, node.settings().maxMessageBytes() * 4L);
  }

  /**
   * Writes the 101 and swaps the HTTP codec for the frame codec. The 101 is encoded as it is
   * written (the compression handler, when there is one, adds the extension it agreed to, and
   * puts its deflate codec in place once the 101 is out). The frame decoder takes {@link
   * RequestHead}'s place only then, so the bytes that came after the request head, handed to it
   * first, go through the same handlers as every later frame.
   */
  private void accept(ChannelHandlerContext ctx, String key, Authentication auth,
      InetSocketAddress remote) {
    FullHttpResponse switching = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
        HttpResponseStatus.SWITCHING_PROTOCOLS, Unpooled.EMPTY_BUFFER);
    switching.headers().set(HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET)
        .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE)
        .set(HttpHeaderNames.SEC_WEBSOCKET_ACCEPT, acceptValue(key));
    ChannelFuture written = ctx.writeAndFlush(switching);
    ChannelPipeline p = ctx.pipeline();
    p.remove(HttpRequestDecoder.class);
    p.remove(HttpResponseEncoder.class);
    // First: frames the decoder writes itself (a close for a protocol error) are encoded too.
    p.addFirst("fanout-frame-encoder", new WebSocket13FrameEncoder(false));
    int max = bufferLimit(settings.node);
    // Frames go out pre-encoded and shared, unless this connection may deflate them.
    Connection connection = new Connection(ctx.channel(), settings.compression ? null
        : settings.frames, settings.node.settings().closeDeadline());
    p.replace(this, "fanout", connection);
    p.addBefore("fanout", "fanout-aggregate", new WebSocketFrameAggregator(max));
    // Text that is not UTF-8 fails the connection with 1007, fragments included (RFC 6455 8.1).
    p.addBefore("fanout-aggregate", "fanout-utf8", new Utf8FrameValidator(true));
    connection.open(settings.node.open(auth, remote, connection)); // before any frame
    WebSocketDecoderConfig frames = WebSocketDecoderConfig.newBuilder().maxFramePayloadLength(max)
        .allowExtensions(settings.compression).build();
    written.addListener(f -> { // often at once: a 101 fits any socket buffer
      if (f.isSuccess()) {
        p.replace(RequestHead.class, "fanout-frame-decoder", new WebSocket13FrameDecoder(frames));
        ctx.channel().config().setAutoRead(true);
      } else {
        ctx.channel().close();
      }
    });
  }

  /**
   * HTTP/1.1's upgrade to h2c (RFC 7540 3.2): the 101, then HTTP/2's handlers in place of
   * HTTP/1.1's, and the request that asked is stream 1's, answered on it.
   */
  private void upgradeToHttp2(ChannelHandlerContext ctx, HttpRequest req, Http2Settings peer) {
    FullHttpResponse switching = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
        HttpResponseStatus.SWITCHING_PROTOCOLS, Unpooled.EMPTY_BUFFER);
    switching.headers().set(HttpHeaderNames.UPGRADE, Http2CodecUtil.HTTP_UPGRADE_PROTOCOL_NAME)
        .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE);
    ctx.writeAndFlush(switching); // encoded now, before HTTP/2's preface is written
    Http2FrameCodec codec = Http2c.codec();
    Http2c.replaceHttp1(ctx.pipeline(), codec, new Http2c.Streams(settings, req));
    try {
      codec.onHttpServerUpgrade(peer); // opens stream 1, half closed: the request is whole
    } catch (Http2Exception e) {
      ctx.channel().close();
    }
  }

  /** Sec-WebSocket-Accept: base64 of the SHA-1 of the key and RFC 6455's GUID. */
  private static String acceptValue(String key) {
    try {
      return Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-1")
          .digest((key + ACCEPT_GUID).getBytes(StandardCharsets.US_ASCII)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-1 is not available", e);
    }
  }

  /**
   * A plain request: the HTTP service's answer, 404 without one; 405 for a method other than
   * GET or HEAD that the service does not answer.
   */
  private void serve(ChannelHandlerContext ctx, HttpRequest req, Handshake request) {
    boolean head = HttpMethod.HEAD.equals(req.method());
    boolean get = head || HttpMethod.GET.equals(req.method());
    HttpService.Answer answer;
    try {
      answer = settings.http == null ? null : get ? settings.http.answer(request)
          : settings.http.answer(req.method().name(), request);
    } catch (RuntimeException e) {
      settings.log.warn(e.getClass().getName(), "the HTTP service failed on a request",
          req.method() + " " + request.uri().getRawPath() + ": " + e, e);
      respond(ctx, 500, "internal error");
      return;
    }
    if (answer == null && !get) {
      FullHttpResponse r = response(405, "method not allowed: " + req.method());
      r.headers().set(HttpHeaderNames.ALLOW, "GET, HEAD");
      ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
      return;
    }
    if (answer == null) {
      respond(ctx, 404, "not found");
      return;
    }
    FullHttpResponse r = response(answer.status(), answer.contentType(), answer.body());
    answer.headers().forEach(r.headers()::set);
    if (head) {
      r.content().clear(); // the headers a GET would get, Content-Length included
    }
    ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
  }

  private static Map<String, List<String>> headers(HttpRequest req) {
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
    ctx.close(); // a reset, or a bug of ours: nothing to answer
  }
}
