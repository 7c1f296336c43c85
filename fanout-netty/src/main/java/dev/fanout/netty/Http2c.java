package dev.fanout.netty;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.HttpResponseEncoder;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.websocketx.extensions.compression.WebSocketServerCompressionHandler;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * HTTP/2 cleartext (h2c) beside HTTP/1.1 on one port ({@link FanoutNettyServer.Builder#http2}):
 * a connection that opens with HTTP/2's preface (prior knowledge, {@link Preface}), or whose first
 * HTTP/1.1 request asks {@code Upgrade: h2c} ({@link Upgrade}), drops its HTTP/1.1 handlers for
 * the frame codec and a multiplexer. Each stream is a child channel that gets the same HTTP
 * handling as an HTTP/1.1 connection's one request: its frames become HTTP objects, and an
 * {@link Upgrade} (on a stream: no WebSocket) answers it, an event stream included. Closing a
 * stream's channel ends that stream; the connection stays. A connection without streams for the
 * request timeout is closed (GOAWAY), as a silent HTTP/1.1 connection is.
 */
final class Http2c {
  /** Streams one connection may have open at once (Jetty's default too). */
  static final int MAX_CONCURRENT_STREAMS = 128;

  private Http2c() {}

  /** The frame codec and the multiplexer, each stream answered by an {@link Upgrade}. */
  static Http2FrameCodec codec() {
    return Http2FrameCodecBuilder.forServer()
        .initialSettings(Http2Settings.defaultSettings()
            .maxConcurrentStreams(MAX_CONCURRENT_STREAMS))
        // closing the connection (the server's close, or an idle one) does not wait for its
        // streams: they have ended, or the server drops them as it drops HTTP/1.1 connections
        .gracefulShutdownTimeoutMillis(0)
        .build();
  }

  /**
   * Removes the HTTP/1.1 handlers of a connection's pipeline ({@link RequestHead} last, so the
   * bytes it held go to what follows it) and puts HTTP/2's in their place: {@code codec}, then a
   * multiplexer whose streams are answered by {@code streams}.
   */
  static void replaceHttp1(ChannelPipeline p, Http2FrameCodec codec, Streams streams) {
    p.remove(HttpRequestDecoder.class);
    p.remove(HttpResponseEncoder.class);
    if (p.get(WebSocketServerCompressionHandler.class) != null) {
      p.remove(WebSocketServerCompressionHandler.class);
    }
    p.addAfter(p.context(RequestHead.class).name(), "fanout-h2", codec);
    p.addAfter("fanout-h2", "fanout-h2-streams", new Http2MultiplexHandler(streams));
    p.remove(Upgrade.class);
    p.remove(RequestHead.class);
    p.channel().config().setAutoRead(true);
    streams.idleFrom(p.channel());
  }

  /**
   * Whether an HTTP/1.1 request asks to upgrade to h2c (RFC 7540 3.2): {@code Upgrade: h2c},
   * {@code Connection: Upgrade, HTTP2-Settings}, and no body (this server reads none).
   */
  static boolean asksUpgrade(HttpRequest req) {
    HttpHeaders h = req.headers();
    return HttpVersion.HTTP_1_1.equals(req.protocolVersion())
        && h.containsValue(HttpHeaderNames.UPGRADE, Http2CodecUtil.HTTP_UPGRADE_PROTOCOL_NAME, true)
        && h.containsValue(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE, true)
        && h.containsValue(HttpHeaderNames.CONNECTION, Http2CodecUtil.HTTP_UPGRADE_SETTINGS_HEADER,
            true)
        && !h.contains(HttpHeaderNames.TRANSFER_ENCODING)
        && h.getInt(HttpHeaderNames.CONTENT_LENGTH, 0) == 0;
  }

  /**
   * The settings of an h2c upgrade request's one {@code HTTP2-Settings} header (RFC 7540 3.2.1:
   * a SETTINGS frame's payload in base64url), or null when there is not exactly one or it does not
   * decode: then the request is served on HTTP/1.1, as a server that ignores the upgrade would.
   */
  static Http2Settings peerSettings(HttpRequest req) {
    List<String> values = req.headers().getAll(Http2CodecUtil.HTTP_UPGRADE_SETTINGS_HEADER);
    if (values.size() != 1) {
      return null;
    }
    try {
      byte[] b = Base64.getUrlDecoder().decode(values.get(0).trim());
      if (b.length % 6 != 0) {
        return null;
      }
      Http2Settings settings = new Http2Settings();
      for (int i = 0; i < b.length; i += 6) {
        char id = (char) (((b[i] & 0xff) << 8) | (b[i + 1] & 0xff));
        long value = ((b[i + 2] & 0xffL) << 24) | ((b[i + 3] & 0xffL) << 16)
            | ((b[i + 4] & 0xffL) << 8) | (b[i + 5] & 0xffL);
        settings.put(id, Long.valueOf(value)); // checks the value of a known setting
      }
      return settings;
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  /**
   * The first handler of a connection when h2c is on: reads the first bytes, and on HTTP/2's
   * connection preface puts HTTP/2's handlers in place of HTTP/1.1's; on anything else (decided
   * at the first byte that differs, the second of a POST) it leaves, and the connection is
   * HTTP/1.1 as without it. Either way the bytes read go on, in order.
   */
  static final class Preface extends ByteToMessageDecoder {
    private final Upgrade.Settings settings;

    Preface(Upgrade.Settings settings) {
      this.settings = settings;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
      ByteBuf preface = Http2CodecUtil.connectionPrefaceBuf();
      int n = Math.min(in.readableBytes(), preface.readableBytes());
      if (!ByteBufUtil.equals(in, in.readerIndex(), preface, preface.readerIndex(), n)) {
        ctx.pipeline().remove(this); // HTTP/1.1
      } else if (n == preface.readableBytes()) {
        replaceHttp1(ctx.pipeline(), codec(), new Streams(settings, null));
        ctx.pipeline().remove(this); // what was read goes to the codec, preface included
      }
    }
  }

  /**
   * Sets up each stream of one connection: the HTTP/2 frames as HTTP objects, and an {@link
   * Upgrade} that answers the stream's request. After an h2c upgrade, stream 1 is the request
   * that asked for it, which the HTTP/1.1 decoder read: it is handed to the stream's handler as
   * it is. Counts the open streams, and closes the connection once it has had none for the
   * request timeout.
   */
  static final class Streams extends ChannelInitializer<Http2StreamChannel> {
    private final Upgrade.Settings settings;
    private HttpRequest upgradeRequest; // stream 1's, until it is handed on
    private int open; // event loop only
    private ScheduledFuture<?> idle;

    Streams(Upgrade.Settings settings, HttpRequest upgradeRequest) {
      this.settings = settings;
      this.upgradeRequest = upgradeRequest;
    }

    @Override
    protected void initChannel(Http2StreamChannel ch) {
      Channel connection = ch.parent();
      if (open++ == 0 && idle != null) {
        idle.cancel(false);
      }
      ch.closeFuture().addListener(f -> {
        if (--open == 0) {
          idleFrom(connection);
        }
      });
      ch.pipeline().addLast(new Http2StreamFrameToHttpObjectCodec(true),
          new Upgrade(settings, true));
      HttpRequest first = upgradeRequest;
      if (first != null && ch.stream().id() == Http2CodecUtil.HTTP_UPGRADE_STREAM_ID) {
        upgradeRequest = null;
        ch.eventLoop().execute(() -> ch.pipeline().fireChannelRead(first));
      }
    }

    /** Closes the connection unless a stream opens within the request timeout. */
    void idleFrom(Channel connection) {
      idle = connection.eventLoop().schedule(() -> {
        if (open == 0) {
          connection.close();
        }
      }, settings.requestTimeout().toNanos(), TimeUnit.NANOSECONDS);
    }
  }
}
