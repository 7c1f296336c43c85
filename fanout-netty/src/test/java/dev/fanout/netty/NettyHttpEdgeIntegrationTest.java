package dev.fanout.netty;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fanout.client.FrameCodec;
import dev.fanout.protocol.Handshake;
import dev.fanout.protocol.RawHttp;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.Deflater;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The Netty transport's HTTP edge against hand-made requests on a raw socket: what the HTTP
 * decoder failed on, or what a proxy in front could read otherwise, is answered 4xx and never
 * upgraded nor handed to the HTTP service; a failing HTTP service costs a 500 and, however often,
 * at most one log line every 10 s.
 */
class NettyHttpEdgeIntegrationTest {
  private static final String ORIGIN = "https://ops.example.com";
  private static final String KEY = "dGhlIHNhbXBsZSBub25jZQ==";

  private LoopbackServer loopback;
  private final AtomicInteger served = new AtomicInteger();

  @BeforeEach
  void start() throws Exception {
    loopback = new LoopbackServer(p -> p.allowedOrigins(ORIGIN), b -> b.http(request -> {
      served.incrementAndGet();
      if (request.uri().getRawPath().equals("/boom")) {
        throw new IllegalStateException("a bug in the service");
      }
      return request.uri().getRawPath().equals("/page")
          ? new HttpService.Answer(200, "text/plain", "page".getBytes(StandardCharsets.UTF_8),
              Map.of("X-Frame-Options", "DENY"))
          : null;
    }));
  }

  @AfterEach
  void stop() {
    loopback.close();
  }

  @Test
  void aHeadTheDecoderFailedOnIsNeverUpgraded() throws Exception {
    StringBuilder junk = new StringBuilder();
    for (int i = 0; i < 110; i++) { // ~10 KB of headers, then what must not be missed
      junk.append("X-Junk-").append(i).append(": ").append("a".repeat(90)).append("\r\n");
    }
    assertThat(status(upgrade("Host: x\r\n" + junk + "Origin: https://evil.example\r\n")))
        .isEqualTo(431);
    StringBuilder many = new StringBuilder();
    for (int i = 0; i < 500; i++) {
      many.append("X-H").append(i).append(": ").append("b".repeat(93)).append("\r\n");
    }
    assertThat(status(upgrade("Host: x\r\n" + many))).isEqualTo(431);
    StringBuilder protocols = new StringBuilder("Sec-WebSocket-Protocol: p0");
    for (int i = 1; i < 10_000; i++) {
      protocols.append(",p").append(i);
    }
    assertThat(status(upgrade("Host: x\r\n" + protocols + "\r\n"))).isEqualTo(431);
    assertThat(status(get("/" + "a".repeat(9000), "Host: x\r\n"))).isEqualTo(414);
    StringBuilder range = new StringBuilder("Range: bytes=0-0");
    for (int i = 1; i < 1500; i++) {
      range.append(',').append(i).append('-').append(i);
    }
    assertThat(status(get("/page", "Host: x\r\n" + range + "\r\n"))).isEqualTo(431);
    assertThat(status(get("/" + "a".repeat(7000), "Host: x\r\n"))).as("as long as Jetty takes")
        .isEqualTo(404);
    assertThat(loopback.hub.connectionCount()).isZero();
  }

  @Test
  void whatAProxyCouldReadOtherwiseIsRefusedWith400() throws Exception {
    Map<String, String> requests = new LinkedHashMap<>();
    requests.put("Content-Length with Transfer-Encoding",
        "Host: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n");
    requests.put("Transfer-Encoding not chunked", "Host: x\r\nTransfer-Encoding: gzip\r\n");
    requests.put("two Content-Lengths", "Host: x\r\nContent-Length: 0\r\nContent-Length: 1\r\n");
    requests.put("no Host", "");
    requests.put("two Hosts", "Host: x\r\nHost: y\r\n");
    requests.put("an empty Host", "Host:\r\n");
    requests.put("a Host that is no host", "Host: a b\r\n");
    requests.put("a NUL in a value", "Host: x\r\nX-A: a\0b\r\n");
    requests.put("a NUL in a name", "Host: x\r\nX\0A: b\r\n");
    requests.put("obs-fold", "Host: x\r\nX-A: a\r\n b\r\n");
    requests.put("a folded first header", " X-A: a\r\nHost: x\r\n");
    requests.put("a header without a colon", "Host: x\r\nXA\r\n");
    requests.put("a bare CR", "Host: x\r\nX-A: a\rb\r\n");
    for (Map.Entry<String, String> r : requests.entrySet()) {
      assertThat(status(get("/page", r.getValue()))).as(r.getKey()).isEqualTo(400);
      assertThat(status(upgrade(r.getValue()))).as("upgrade, " + r.getKey()).isEqualTo(400);
    }
    assertThat(status("GET /page HTTP/1.1\nHost: x\n\n")).as("bare LF").isEqualTo(400);
    assertThat(status("HELLO\r\n\r\n")).isEqualTo(400);
    assertThat(status("GET /page HTTP/1.2\r\nHost: x\r\n\r\n")).isEqualTo(505);
    assertThat(status("GET http://y/page HTTP/1.1\r\nHost: x\r\n\r\n")).isEqualTo(400);
    assertThat(status("GET http://x/page HTTP/1.1\r\nHost: x\r\n\r\n")).isEqualTo(200);
    assertThat(status("GET /page HTTP/1.0\r\n\r\n")).as("HTTP/1.0 needs no Host")
        .isEqualTo(200);
    assertThat(status("\r\nGET /page HTTP/1.1\r\nHost: x\r\n\r\n")).isEqualTo(200);
    assertThat(status(get("/page", "Host: x\r\n"))).isEqualTo(200);
    assertThat(loopback.hub.connectionCount()).isZero();
  }

  @Test
  void ambiguousPathsAreRefusedWith400AndNeverReachTheService() throws Exception {
    for (String path : new String[] {"//x", "//ws", "/x//page", "/x/../page", "/./page",
        "/page/..", "/%2e%2e/page", "/%2fpage", "/a%5cb", "/page%00", "x"}) {
      assertThat(status(get(path, "Host: x\r\n"))).as(path).isEqualTo(400);
    }
    assertThat(served.get()).isZero();
    assertThat(status(get("/page", "Host: x\r\n"))).isEqualTo(200);
    assertThat(status(get("/other/", "Host: x\r\n"))).isEqualTo(404);
  }

  @Test
  void anAnswersOwnHeadersAreSent() throws Exception {
    RawHttp.Answer answer = answer(get("/page", "Host: x\r\n"));
    assertThat(answer.status()).isEqualTo(200);
    assertThat(answer.header("X-Frame-Options")).isEqualTo("DENY");
  }

  @Test
  void otherMethodsThanGetAndHeadReachOnlyAServiceThatAnswersThem() throws Exception {
    assertThat(status("POST /page HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"))
        .as("a service answering GET only").isEqualTo(405);
    try (LoopbackServer forms = new LoopbackServer(p -> p.allowedOrigins(ORIGIN),
        b -> b.http(new HttpService() {
          @Override
          public Answer answer(Handshake request) {
            return null;
          }

          @Override
          public Answer answer(String method, Handshake request) {
            return method.equals("POST") && request.uri().getRawPath().equals("/form")
                ? new Answer(201, "text/plain", "made".getBytes(StandardCharsets.UTF_8)) : null;
          }
        }))) {
      URI base = URI.create("http://127.0.0.1:" + forms.server.port());
      RawHttp.Answer made = RawHttp.send(base,
          "POST /form HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody");
      assertThat(made.status()).isEqualTo(201);
      RawHttp.Answer other = RawHttp.send(base, "DELETE /form HTTP/1.1\r\nHost: x\r\n\r\n");
      assertThat(other.status()).isEqualTo(405);
      assertThat(other.header("Allow")).isEqualTo("GET, HEAD");
      assertThat(RawHttp.send(base, "GET /form HTTP/1.1\r\nHost: x\r\n\r\n").status())
          .isEqualTo(404);
    }
  }

  @Test
  void aFailingServiceCosts500AndAtMostOneLogLineEveryTenSeconds() throws Exception {
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    PrintStream err = System.err;
    System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8)); // slf4j-simple's
    try {
      for (int i = 0; i < 200; i++) {
        assertThat(status(get("/boom", "Host: x\r\n"))).isEqualTo(500);
      }
    } finally {
      System.setErr(err);
    }
    String log = captured.toString(StandardCharsets.UTF_8);
    assertThat(log.lines().filter(l -> l.contains("the HTTP service failed"))).hasSize(1);
    assertThat(log.lines().count()).as(log).isLessThanOrEqualTo(2);
    assertThat(log).doesNotContain("\tat ");
  }

  @Test
  void aCompressedSubscribeInTheUpgradesPacketIsInflated() throws Exception {
    loopback.close();
    loopback = new LoopbackServer(p -> {}, b -> b.compression(true));
    byte[] head = ("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
        + "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + KEY
        + "\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n")
        .getBytes(StandardCharsets.ISO_8859_1);
    ByteArrayOutputStream packet = new ByteArrayOutputStream();
    packet.writeBytes(head);
    packet.writeBytes(compressedFrame("{\"type\":\"subscribe\"}"));
    try (Socket s = RawHttp.connect(loopback.uri)) {
      s.getOutputStream().write(packet.toByteArray());
      InputStream in = s.getInputStream();
      String answer = RawHttp.readHead(in);
      assertThat(answer).startsWith("HTTP/1.1 101").containsIgnoringCase("permessage-deflate");
      int b0 = in.read();
      assertThat(b0 & 0x0F).as("a text frame, not a close").isEqualTo(0x1);
      assertThat(b0 & 0x40).as("compressed").isNotZero();
    }
  }

  /** An upgrade on the endpoint with {@code headers} (Host among them, or not). */
  private static String upgrade(String headers) {
    return "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + KEY + "\r\n" + headers + "\r\n";
  }

  private static String get(String path, String headers) {
    return "GET " + path + " HTTP/1.1\r\n" + headers + "\r\n";
  }

  private int status(String request) throws IOException {
    return answer(request).status();
  }

  private RawHttp.Answer answer(String request) throws IOException {
    return RawHttp.send(URI.create("http://127.0.0.1:" + loopback.server.port()), request);
  }

  /** A masked text frame with RSV1, its payload deflated as RFC 7692 7.2.1 says. */
  private static byte[] compressedFrame(String text) {
    Deflater d = new Deflater(Deflater.DEFAULT_COMPRESSION, true);
    d.setInput(text.getBytes(StandardCharsets.UTF_8));
    byte[] buf = new byte[1024];
    int n = d.deflate(buf, 0, buf.length, Deflater.SYNC_FLUSH);
    d.end();
    byte[] frame = FrameCodec.clientFrame(0x1, Arrays.copyOf(buf, n - 4)); // without 00 00 ff ff
    frame[0] |= 0x40;
    return frame;
  }
}
