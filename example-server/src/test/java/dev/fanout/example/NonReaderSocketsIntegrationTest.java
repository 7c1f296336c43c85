package dev.fanout.example;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Clients that subscribe and never read again, on both transports of the example server: once
 * fanout closes them (their outbox full, or the heartbeat) and the close deadline passes, their
 * sockets are gone from the kernel, not left as orphans in FIN-WAIT-1 holding their unsent
 * bytes (issue 32: Jetty kept 300 of them and 39.8 MB of TCP memory; {@link AbortingConnector}).
 */
class NonReaderSocketsIntegrationTest {
  private static final int CLIENTS = 20;

  @ParameterizedTest
  @ValueSource(strings = {"jetty", "netty"})
  void closedNonReadersLeaveNoSocketInTheKernel(String transport) throws Exception {
    FeedServer.Config c = new FeedServer.Config();
    c.host = "127.0.0.1";
    c.port = 0;
    // The embedded generator at 1,000 events/s: their windows shut within a second or two, then
    // the heartbeat closes them (4001 at 4 s) or their outboxes fill (1013), bytes still unsent
    c.rate = 1000;
    c.heartbeatInterval = Duration.ofSeconds(1);
    c.heartbeatTimeout = Duration.ofSeconds(3);
    c.shutdownSpread = Duration.ofMillis(50);
    c.transport = transport;
    List<Socket> silent = new ArrayList<>();
    try (FeedServer server = FeedServer.start(c)) {
      int port = server.port();
      for (int i = 0; i < CLIENTS; i++) {
        silent.add(subscribeAndStopReading(port));
      }
      assertThat(serverSockets(port)).isEqualTo(CLIENTS);
      // closed with 1013 or 4001 within seconds; the close frame cannot be written to a peer
      // whose window is shut, so the socket goes at the close deadline (5 s)
      await().atMost(Duration.ofSeconds(25)).until(() -> serverSockets(port) == 0);
    } finally {
      for (Socket s : silent) {
        s.close();
      }
    }
  }

  private static Socket subscribeAndStopReading(int port) throws IOException {
    Socket s = new Socket();
    s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
    String key = Base64.getEncoder().encodeToString(new byte[16]);
    OutputStream out = s.getOutputStream();
    out.write(("GET /ws HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nUpgrade: websocket\r\n"
        + "Connection: Upgrade\r\nSec-WebSocket-Key: " + key + "\r\n"
        + "Sec-WebSocket-Version: 13\r\nOrigin: http://127.0.0.1:" + port + "\r\n\r\n")
        .getBytes(StandardCharsets.US_ASCII));
    byte[] subscribe = "{\"type\":\"subscribe\"}".getBytes(StandardCharsets.UTF_8);
    byte[] frame = new byte[6 + subscribe.length];
    frame[0] = (byte) 0x81;
    frame[1] = (byte) (0x80 | subscribe.length);
    System.arraycopy(subscribe, 0, frame, 6, subscribe.length); // mask 0: the bytes as they are
    out.write(frame);
    out.flush();
    // the upgrade's answer, then nothing more is read
    s.setSoTimeout(10_000);
    InputStream in = s.getInputStream();
    StringBuilder head = new StringBuilder();
    while (!head.toString().endsWith("\r\n\r\n")) {
      int b = in.read();
      assertThat(b).as("the answer to the upgrade").isNotNegative();
      head.append((char) b);
    }
    assertThat(head.toString()).startsWith("HTTP/1.1 101");
    return s;
  }

  /**
   * Sockets in the kernel whose local port is the server's, orphans included, LISTEN and
   * TIME-WAIT (which holds no buffers) aside
   * (/proc/net/tcp and tcp6: the JVM's sockets are IPv6 ones, 127.0.0.1 mapped).
   */
  static long serverSockets(int port) throws IOException {
    String local = String.format(Locale.ROOT, ":%04X", port);
    long n = 0;
    for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
      n += Files.readAllLines(Path.of(table)).stream().skip(1)
          .map(line -> line.trim().split("\\s+"))
          .filter(f -> f[1].endsWith(local) && !f[3].equals("0A") && !f[3].equals("06"))
          .count();
    }
    return n;
  }
}
