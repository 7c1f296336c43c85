package dev.fanout.netty;

import dev.fanout.core.internal.Require;
import dev.fanout.protocol.FanoutNode;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.HttpResponseEncoder;
import io.netty.handler.codec.http.websocketx.extensions.compression.WebSocketServerCompressionHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Protocol v1 on a Netty WebSocket server: native epoll on Linux, NIO elsewhere. The upgrade is
 * fanout's own, so a refused handshake gets its exact status before any upgrade (401 or 403 from
 * the {@link dev.fanout.protocol.Authenticator} or the Origin allow-list, 503 while shutting down
 * or at a connection cap, 426 for another WebSocket version). The HTTP edge is as strict as a
 * servlet container's: a request head over 8 KiB gets 414 or 431, a malformed or ambiguous one
 * 400 (see {@link dev.fanout.protocol.HttpEdge}), and neither is upgraded nor served; frames sent
 * in the same packet as the upgrade are read. After the upgrade a connection's pipeline holds only
 * the frame codec and one handler. Everything the node decides (limits, heartbeat,
 * backpressure, paced shutdown) is {@link FanoutNode}'s, as on the Jakarta adapter. With {@link
 * Builder#http2}, plain HTTP and Server-Sent Events are served over HTTP/2 cleartext (h2c) on the
 * same port too; WebSocket stays on HTTP/1.1.
 *
 * <pre>{@code
 * FanoutNettyServer server = FanoutNettyServer.builder(node).port(8080).path("/ws").start();
 * ...
 * node.shutdown(Duration.ofSeconds(2)); // 1001 to every client, paced
 * server.close();
 * }</pre>
 */
public final class FanoutNettyServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(FanoutNettyServer.class);
  /** Default per-connection kernel send buffer: 64 KiB ({@link Builder#sendBuffer}). */
  public static final int DEFAULT_SEND_BUFFER = 64 * 1024;

  /** Connections waiting to be accepted: a reconnect storm opens thousands at once. */
  static final int ACCEPT_QUEUE = 4096;
  /**
   * How the request head is read: at most 8 KiB of request line and 8 KiB of headers, CRLF line
   * ends only, and Transfer-Encoding as RFC 9112 has it (Content-Length beside it is refused).
   */
  private static final HttpDecoderConfig DECODING = new HttpDecoderConfig()
      .setMaxInitialLineLength(8192).setMaxHeaderSize(8192).setStrictLineParsing(true)
      .setUseRfc9112TransferEncoding(true);

  private final EventLoopGroup boss;
  private final EventLoopGroup workers;
  private final Channel listening;
  private final ChannelGroup connections = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
  private final String transport;

  private FanoutNettyServer(Builder b) throws InterruptedException {
    boolean epoll = Epoll.isAvailable();
    IoHandlerFactory io = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
    Class<? extends ServerChannel> channel =
        epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    transport = epoll ? "epoll" : "nio";
    boss = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("fanout-netty-accept"), io);
    workers = new MultiThreadIoEventLoopGroup(b.ioThreads,
        new DefaultThreadFactory("fanout-netty-io"), io);
    Upgrade.Settings settings = new Upgrade.Settings(b.node, b.path, b.compression, b.http,
        new SharedFrames(), b.requestTimeout, new ThrottledLog(log), b.ssePath, b.http2,
        SharedFrames.chunks());
    try {
      listening = new ServerBootstrap()
          .group(boss, workers)
          .channel(channel)
          .option(ChannelOption.SO_BACKLOG, ACCEPT_QUEUE)
          .option(ChannelOption.SO_REUSEADDR, true) // a restarted node takes its port back
          .childOption(ChannelOption.TCP_NODELAY, true)
          .childOption(ChannelOption.SO_SNDBUF, b.sendBufferBytes)
          .childHandler(new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel ch) {
              connections.add(ch);
              if (settings.http2()) { // HTTP/2's preface swaps the HTTP/1.1 handlers out
                ch.pipeline().addLast(new Http2c.Preface(settings));
              }
              // The request head, and what follows it held back for the upgrade; the head's
              // limits are a servlet container's (8 KiB, then 414 or 431).
              ch.pipeline().addLast(new RequestHead(), new HttpRequestDecoder(DECODING),
                  new HttpResponseEncoder());
              if (settings.compression()) { // negotiates permessage-deflate on the upgrade
                // a frame inflates to at most what a message may be buffered at: no deflate bomb
                ch.pipeline().addLast(new WebSocketServerCompressionHandler(
                    Upgrade.bufferLimit(settings.node())));
              }
              ch.pipeline().addLast(new Upgrade(settings));
            }
          })
          .bind(b.host, b.port).sync().channel();
    } catch (RuntimeException | InterruptedException e) {
      shutdownGroups();
      throw e;
    }
  }

  public static Builder builder(FanoutNode node) {
    return new Builder(node);
  }

  /** The port listened on (useful with port 0). */
  public int port() {
    return ((InetSocketAddress) listening.localAddress()).getPort();
  }

  /** "epoll" or "nio": the transport in use. */
  public String transport() {
    return transport;
  }

  /**
   * Stops listening and drops every connection that is still open. Close the connections with
   * {@link FanoutNode#shutdown} first, so clients get 1001 and reconnect elsewhere.
   */
  @Override
  public void close() {
    listening.close().awaitUninterruptibly();
    connections.close().awaitUninterruptibly();
    shutdownGroups();
  }

  private void shutdownGroups() {
    boss.shutdownGracefully(0, 2, TimeUnit.SECONDS);
    workers.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly();
  }

  /** Where and how the server listens; every setting has a default and is checked here. */
  public static final class Builder {
    private final FanoutNode node;
    private String host = "0.0.0.0";
    private int port = 8080;
    private String path = "/ws";
    private boolean compression;
    private int ioThreads = Runtime.getRuntime().availableProcessors();
    private int sendBufferBytes = DEFAULT_SEND_BUFFER;
    private HttpService http;
    private Duration requestTimeout = Duration.ofSeconds(30);
    private String ssePath;
    private boolean http2;

    private Builder(FanoutNode node) {
      this.node = Objects.requireNonNull(node, "node");
    }

    /** The address to bind; default all interfaces. */
    public Builder host(String host) {
      this.host = Objects.requireNonNull(host, "host");
      return this;
    }

    /** The port; 0 picks a free one ({@link #port()} tells which). Default 8080. */
    public Builder port(int port) {
      Require.argument(port >= 0 && port <= 65535, "port must be between 0 and 65535, got %d",
          port);
      this.port = port;
      return this;
    }

    /** The WebSocket endpoint's path; default {@code /ws}. Other paths: {@link #http}. */
    public Builder path(String path) {
      Objects.requireNonNull(path, "path");
      Require.argument(path.startsWith("/"), "path must start with /, got %s", path);
      this.path = path;
      return this;
    }

    /**
     * Answers GET and HEAD on other paths than the endpoint's (health, metrics, a page), and
     * other methods it chooses to; without one they get 404 (other methods 405).
     */
    public Builder http(HttpService service) {
      this.http = Objects.requireNonNull(service, "service");
      return this;
    }

    /**
     * Also serves protocol v1 as Server-Sent Events for GET at {@code path} ({@link
     * dev.fanout.protocol.SseRequest#DEFAULT_PATH} is {@code /events}); default off. Other
     * methods on it go to the {@link #http} service.
     */
    public Builder sse(String path) {
      Objects.requireNonNull(path, "path");
      Require.argument(path.startsWith("/"), "path must start with /, got %s", path);
      this.ssePath = path;
      return this;
    }

    /**
     * Whether plain HTTP (the {@link #sse} stream, the {@link #http} service) is also served over
     * HTTP/2 cleartext (h2c) on the same port, to a client that opens with HTTP/2's preface
     * (prior knowledge) or asks with HTTP/1.1's {@code Upgrade: h2c}; default off. Each stream is
     * answered as an HTTP/1.1 connection's one request is, and a client's streams (at most 128 at
     * once) share its one connection, where on HTTP/1.1 each event stream holds one: a browser
     * allows six per origin. WebSocket stays on HTTP/1.1 (no RFC 8441), and the endpoint's path
     * never upgrades to h2c, so a proxy that passes {@code Upgrade} there for WebSocket cannot be
     * used to tunnel HTTP/2 past it. Browsers speak HTTP/2 only over TLS: in front of them a
     * proxy or load balancer ends TLS and may speak h2c, or HTTP/1.1, to this server.
     */
    public Builder http2(boolean http2) {
      this.http2 = http2;
      return this;
    }

    /** Whether clients may negotiate permessage-deflate; default off (CPU per frame). */
    public Builder compression(boolean compression) {
      this.compression = compression;
      return this;
    }

    /** Event-loop threads for the connections; default one per available processor. */
    public Builder ioThreads(int threads) {
      this.ioThreads = Require.positive(threads, "io threads");
      return this;
    }

    /**
     * Each connection's kernel send buffer (SO_SNDBUF), which caps what a client that stops
     * reading can pin in the kernel: the kernel doubles the value for its bookkeeping, so about
     * twice this per connection, where Linux's autotuning would let it grow to 4 MiB. A connection
     * holds one send in flight at a time, so a reading client needs little. Default {@value
     * #DEFAULT_SEND_BUFFER} bytes.
     */
    public Builder sendBuffer(int bytes) {
      Require.argument(bytes >= 4096, "send buffer must be at least 4096 bytes, got %d", bytes);
      this.sendBufferBytes = bytes;
      return this;
    }

    /**
     * How long a connection may take from accept to its whole HTTP request (an upgrade or a plain
     * request); one that is silent or slower is closed, so idle or trickling sockets cannot hold
     * file descriptors. After the upgrade the node's heartbeat takes over. Default 30 s.
     */
    public Builder requestTimeout(Duration timeout) {
      this.requestTimeout = Require.positive(timeout, "request timeout");
      return this;
    }

    /**
     * Binds and starts serving.
     *
     * @throws InterruptedException when interrupted while binding
     * @throws io.netty.channel.ChannelException (or another runtime exception) when the address
     *     cannot be bound
     */
    public FanoutNettyServer start() throws InterruptedException {
      return new FanoutNettyServer(this);
    }
  }
}
