package dev.fanout.example;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.fanout.client.ProtocolClient;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import io.netty.handler.codec.http2.HttpConversionUtil;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Server-Sent Events and the plain endpoints over HTTP/2 cleartext (h2c) on the example server,
 * on the same port as HTTP/1.1 and WebSocket: by HTTP/1.1's {@code Upgrade: h2c} (the JDK's
 * client, through a {@link Front} that counts the TCP connections it carries) and by prior
 * knowledge (Netty's HTTP/2 client on one connection). A browser allows six HTTP/1.1 connections
 * per origin, so at most six event streams; here twelve share one connection, each with every
 * event.
 * {@link NettyHttp2IntegrationTest} runs it on the Netty transport.
 */
class Http2IntegrationTest {
  private static final Duration WAIT = Duration.ofSeconds(10);
  private static final int STREAMS = 12;
  private final List<AutoCloseable> open = new ArrayList<>();

  String transport() {
    return "jetty";
  }

  @AfterEach
  void closeAll() throws Exception {
    for (int i = open.size() - 1; i >= 0; i--) {
      open.get(i).close();
    }
  }

  private FeedServer server() throws Exception {
    return server(Duration.ofSeconds(30));
  }

  private FeedServer server(Duration requestTimeout) throws Exception {
    FeedServer.Config c = new FeedServer.Config();
    c.requestTimeout = requestTimeout;
    c.port = 0;
    c.generator = false;
    c.shutdownSpread = Duration.ZERO;
    c.transport = transport();
    c.heartbeatInterval = Duration.ofMillis(200);
    c.heartbeatTimeout = Duration.ofSeconds(5);
    FeedServer s = FeedServer.start(c);
    open.add(s);
    return s;
  }

  private static String publish(FeedServer s, String merchant) {
    return s.node().publish(merchant, Map.of("method", "card"),
        "{\"merchantId\":\"" + merchant + "\",\"method\":\"card\"}").toString();
  }

  @Test
  void theJdkClientUpgradesAndItsStreamsShareOneConnection() throws Exception {
    FeedServer s = server();
    Front relay = new Front(List.of(s.port())); // counts the TCP connections
    open.add(relay);
    HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_2).build();
    String base = "http://127.0.0.1:" + relay.port();
    // the first request upgrades the connection (Upgrade: h2c), answered on stream 1
    HttpResponse<String> health = client.send(HttpRequest.newBuilder(URI.create(base
        + "/health")).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(health.version()).isEqualTo(HttpClient.Version.HTTP_2);
    assertThat(health.statusCode()).isEqualTo(200);
    assertThat(health.body()).contains("\"status\":\"UP\"");
    HttpResponse<String> page = client.send(HttpRequest.newBuilder(URI.create(base + "/"))
        .build(), HttpResponse.BodyHandlers.ofString());
    assertThat(page.version()).isEqualTo(HttpClient.Version.HTTP_2);
    assertThat(page.body()).contains("<html");

    List<JdkStream> streams = new ArrayList<>();
    for (int i = 0; i < STREAMS; i++) {
      JdkStream st = new JdkStream(client, URI.create(base + "/events?merchants=mch_1"));
      open.add(st);
      streams.add(st);
    }
    for (JdkStream st : streams) {
      assertThat(st.response.version()).isEqualTo(HttpClient.Version.HTTP_2);
      assertThat(st.response.headers().firstValue("Content-Type").orElse(""))
          .startsWith("text/event-stream");
      assertThat(st.response.headers().map()).doesNotContainKeys("connection",
          "transfer-encoding");
      assertThat(st.sse.first(1).get(0).event()).isEqualTo("subscribed");
    }
    await().atMost(WAIT).until(() -> s.node().status().connections() == STREAMS);
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      ids.add(publish(s, "mch_1"));
      publish(s, "mch_2"); // not subscribed
    }
    for (JdkStream st : streams) {
      assertThat(st.sse.awaitEvents(5)).extracting(Sse::id).containsExactlyElementsOf(ids);
    }
    assertThat(relay.accepted()).isEqualTo(1); // one TCP connection for all of it

    // a stream the client drops ends alone; Last-Event-ID resumes on the same connection
    JdkStream first = streams.get(0);
    first.close();
    await().atMost(WAIT).until(() -> s.node().status().connections() == STREAMS - 1);
    List<String> missed = List.of(publish(s, "mch_1"), publish(s, "mch_1"));
    JdkStream back = new JdkStream(client, URI.create(base + "/events?merchants=mch_1"),
        "Last-Event-ID", ids.get(4));
    open.add(back);
    JsonObject subscribed = json(back.sse.first(1).get(0));
    assertThat(subscribed.get("recovered").getAsBoolean()).isTrue();
    assertThat(subscribed.get("missed").getAsInt()).isEqualTo(2);
    assertThat(back.sse.awaitEvents(2)).extracting(Sse::id).containsExactlyElementsOf(missed);
    assertThat(streams.get(1).sse.awaitEvents(7)).hasSize(7);
    assertThat(relay.accepted()).isEqualTo(1);
  }

  @Test
  void priorKnowledgeStreamsShareOneConnectionAndTheDrainEndsEachStreamNotTheConnection()
      throws Exception {
    FeedServer s = server();
    PriorKnowledge h2 = new PriorKnowledge(s.port());
    open.add(h2);
    PriorKnowledge.Exchange health = h2.get("/health");
    await().atMost(WAIT).until(() -> health.ended);
    assertThat(health.status).isEqualTo(200);
    assertThat(health.body()).contains("\"status\":\"UP\"");

    List<PriorKnowledge.Exchange> streams = new ArrayList<>();
    for (int i = 0; i < STREAMS; i++) {
      streams.add(h2.get("/events?topics=mch_1"));
    }
    for (PriorKnowledge.Exchange st : streams) {
      assertThat(st.sse.first(1).get(0).event()).isEqualTo("subscribed");
      assertThat(st.status).isEqualTo(200);
      assertThat(st.contentType).startsWith("text/event-stream");
    }
    List<String> ids = List.of(publish(s, "mch_1"), publish(s, "mch_1"), publish(s, "mch_1"));
    for (PriorKnowledge.Exchange st : streams) {
      assertThat(st.sse.awaitEvents(3)).extracting(Sse::id).containsExactlyElementsOf(ids);
    }
    // resume by Last-Event-ID on the same connection
    PriorKnowledge.Exchange back = h2.get("/events?topics=mch_1", "last-event-id", ids.get(0));
    JsonObject subscribed = json(back.sse.first(1).get(0));
    assertThat(subscribed.get("recovered").getAsBoolean()).isTrue();
    assertThat(back.sse.awaitEvents(2)).extracting(Sse::id)
        .containsExactly(ids.get(1), ids.get(2));

    // the node's drain ends every stream with a complete response; the connection stays and
    // answers the next request (503: draining)
    s.node().shutdown(Duration.ZERO);
    for (PriorKnowledge.Exchange st : streams) {
      await().atMost(WAIT).until(() -> st.ended);
      assertThat(st.reset).isFalse();
    }
    assertThat(h2.connection.isActive()).isTrue();
    PriorKnowledge.Exchange draining = h2.get("/health");
    await().atMost(WAIT).until(() -> draining.ended);
    assertThat(draining.status).isEqualTo(503);
    assertThat(draining.body()).contains("DRAINING");
    assertThat(h2.connects.get()).isEqualTo(1);
  }

  @Test
  void aConnectionWithoutStreamsClosesAtTheRequestTimeoutOneWithAStreamStays() throws Exception {
    FeedServer s = server(Duration.ofSeconds(1));
    PriorKnowledge idle = new PriorKnowledge(s.port());
    open.add(idle);
    PriorKnowledge busy = new PriorKnowledge(s.port());
    open.add(busy);
    PriorKnowledge.Exchange st = busy.get("/events?topics=mch_1");
    st.sse.first(1);
    await().atMost(WAIT).until(() -> !idle.connection.isActive());
    await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(5))
        .until(() -> busy.connection.isActive() && !st.ended);
    String id = publish(s, "mch_1");
    assertThat(st.sse.awaitEvents(1)).extracting(Sse::id).containsExactly(id);
    st.stream.close(); // the client cancels its one stream: the connection is idle again
    await().atMost(Duration.ofSeconds(15)).until(() -> !busy.connection.isActive());
  }

  @Test
  void webSocketStaysOnHttp11OnTheSamePort() throws Exception {
    FeedServer s = server();
    // an HTTP/2 connection first, then a WebSocket beside it
    PriorKnowledge h2 = new PriorKnowledge(s.port());
    open.add(h2);
    PriorKnowledge.Exchange st = h2.get("/events?topics=mch_1");
    st.sse.first(1);
    ProtocolClient ws = ProtocolClient.connect(URI.create("ws://127.0.0.1:" + s.port() + "/ws"));
    open.add(ws);
    ws.send("{\"type\":\"subscribe\",\"topics\":[\"mch_1\"]}");
    ws.nextOfType("subscribed");
    String id = publish(s, "mch_1");
    assertThat(ws.nextOfType("event").get("id").getAsString()).isEqualTo(id);
    assertThat(st.sse.awaitEvents(1)).extracting(Sse::id).containsExactly(id);
    // no WebSocket over HTTP/2 (RFC 8441): its path on a stream is not a WebSocket
    PriorKnowledge.Exchange onStream = h2.get("/ws");
    await().atMost(WAIT).until(() -> onStream.ended);
    assertThat(onStream.status).isBetween(400, 499);
    // nor does the WebSocket path upgrade to h2c: a proxy that passes Upgrade there for
    // WebSocket cannot be made to tunnel HTTP/2
    try (Socket raw = new Socket("127.0.0.1", s.port())) {
      raw.getOutputStream().write(("GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\n"
          + "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
          + "HTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      byte[] head = raw.getInputStream().readNBytes(12);
      assertThat(new String(head, StandardCharsets.US_ASCII)).startsWith("HTTP/1.1 4");
    }
    // plain HTTP/1.1 is still HTTP/1.1
    HttpResponse<String> http11 = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .build().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port()
            + "/health")).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(http11.version()).isEqualTo(HttpClient.Version.HTTP_1_1);
    assertThat(http11.statusCode()).isEqualTo(200);
  }

  private static JsonObject json(Sse e) {
    return JsonParser.parseString(e.data()).getAsJsonObject();
  }

  /** One SSE event as a browser dispatches it; {@code id} null when the event sets none. */
  record Sse(String event, String id, String data) {}

  /** Text of an event stream, line by line, parsed as EventSource does. */
  static final class SseParser {
    final List<Sse> events = new CopyOnWriteArrayList<>();
    private final StringBuilder partial = new StringBuilder();
    private String event;
    private String id;
    private StringBuilder data;

    /** Takes any piece of the body (not necessarily whole lines). */
    synchronized void text(String text) {
      partial.append(text);
      int nl;
      while ((nl = partial.indexOf("\n")) >= 0) {
        line(partial.substring(0, nl));
        partial.delete(0, nl + 1);
      }
    }

    synchronized void line(String line) {
      if (line.isEmpty()) {
        if (event != null || id != null || data != null) {
          events.add(new Sse(event, id, data == null ? null : data.toString()));
        }
        event = null;
        id = null;
        data = null;
      } else if (!line.startsWith(":")) {
        int colon = line.indexOf(':');
        String field = colon < 0 ? line : line.substring(0, colon);
        String value = colon < 0 ? "" : line.substring(colon + 1).replaceFirst("^ ", "");
        if (field.equals("event")) {
          event = value;
        } else if (field.equals("id")) {
          id = value;
        } else if (field.equals("data")) {
          data = data == null ? new StringBuilder(value) : data.append('\n').append(value);
        }
      }
    }

    /** The first {@code n} events of any type (id-only ones left out), once they are here. */
    List<Sse> first(int n) {
      await().atMost(WAIT).until(() -> typed().size() >= n);
      return typed().subList(0, n);
    }

    /** The {@code event} events, once there are at least {@code n}. */
    List<Sse> awaitEvents(int n) {
      await().atMost(WAIT).until(() -> eventsOnly().size() >= n);
      return eventsOnly();
    }

    private List<Sse> typed() {
      return events.stream().filter(e -> e.event() != null).toList();
    }

    private List<Sse> eventsOnly() {
      return events.stream().filter(e -> "event".equals(e.event())).toList();
    }
  }

  /** A GET on the JDK's client, its body read line by line on a thread of its own. */
  static final class JdkStream implements AutoCloseable {
    final HttpResponse<java.util.stream.Stream<String>> response;
    final SseParser sse = new SseParser();

    JdkStream(HttpClient client, URI uri, String... headers) throws Exception {
      HttpRequest.Builder b = HttpRequest.newBuilder(uri);
      for (int i = 0; i < headers.length; i += 2) {
        b.header(headers[i], headers[i + 1]);
      }
      response = client.send(b.build(), HttpResponse.BodyHandlers.ofLines());
      Thread t = new Thread(() -> {
        try {
          Iterator<String> lines = response.body().iterator();
          while (lines.hasNext()) {
            sse.line(lines.next());
          }
        } catch (RuntimeException closed) {
          // the test closed the stream
        }
      }, "h2-sse-reader");
      t.setDaemon(true);
      t.start();
    }

    @Override
    public void close() {
      response.body().close();
    }
  }

  /** Netty's HTTP/2 client on one connection, by prior knowledge: each request a stream. */
  static final class PriorKnowledge implements AutoCloseable {
    final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    final Channel connection;
    final AtomicInteger connects = new AtomicInteger();
    private final int port;

    PriorKnowledge(int port) throws InterruptedException {
      this.port = port;
      connection = new Bootstrap().group(group).channel(NioSocketChannel.class)
          .handler(new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel ch) {
              connects.incrementAndGet();
              ch.pipeline().addLast(Http2FrameCodecBuilder.forClient().build(),
                  new Http2MultiplexHandler(new ChannelInboundHandlerAdapter()));
            }
          }).connect("127.0.0.1", port).sync().channel();
    }

    /** Opens a stream with a GET of {@code path} and {@code headers}; its answer comes later. */
    Exchange get(String path, String... headers) throws InterruptedException {
      Exchange exchange = new Exchange();
      Http2StreamChannel stream = new Http2StreamChannelBootstrap(connection)
          .handler(new ChannelInitializer<Http2StreamChannel>() {
            @Override
            protected void initChannel(Http2StreamChannel ch) {
              ch.pipeline().addLast(new Http2StreamFrameToHttpObjectCodec(false), exchange);
            }
          }).open().sync().getNow();
      DefaultFullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1,
          HttpMethod.GET, path, Unpooled.EMPTY_BUFFER);
      req.headers().set("host", "127.0.0.1:" + port)
          .set(HttpConversionUtil.ExtensionHeaderNames.SCHEME.text(), "http");
      for (int i = 0; i < headers.length; i += 2) {
        req.headers().set(headers[i], headers[i + 1]);
      }
      exchange.stream = stream;
      stream.writeAndFlush(req).sync();
      return exchange;
    }

    @Override
    public void close() {
      connection.close().awaitUninterruptibly();
      group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS)
          .awaitUninterruptibly();
    }

    /** One stream's response: status, body as text (parsed as events too), how it ended. */
    static final class Exchange extends SimpleChannelInboundHandler<HttpObject> {
      final SseParser sse = new SseParser();
      private final StringBuilder body = new StringBuilder();
      volatile int status;
      volatile String contentType = "";
      volatile boolean ended; // the response ended (end of stream)
      volatile boolean reset; // the stream closed before its response ended
      volatile Http2StreamChannel stream;

      @Override
      protected void channelRead0(ChannelHandlerContext ctx, HttpObject msg) {
        if (msg instanceof io.netty.handler.codec.http.HttpResponse r) {
          status = r.status().code();
          contentType = r.headers().get("content-type", "");
        }
        if (msg instanceof HttpContent c) {
          String text = c.content().toString(StandardCharsets.UTF_8);
          synchronized (body) {
            body.append(text);
          }
          sse.text(text);
        }
        if (msg instanceof LastHttpContent) {
          ended = true;
        }
      }

      @Override
      public void channelInactive(ChannelHandlerContext ctx) {
        if (!ended) {
          reset = true;
          ended = true;
        }
      }

      String body() {
        synchronized (body) {
          return body.toString();
        }
      }
    }
  }
}
