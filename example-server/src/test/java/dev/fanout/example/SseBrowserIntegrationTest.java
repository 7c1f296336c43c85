package dev.fanout.example;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fanout.redis.RedisPublisher;
import dev.fanout.redis.RedisServer;
import dev.fanout.redis.RedisStream;
import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * Debian's headless Chromium reading {@code /events} through a front (a {@link Front}, as a load
 * balancer) to two nodes on one Redis: the node the browser reads from, a real process, is killed
 * (SIGKILL) while events are published; the connection breaks, the browser reconnects through the
 * front to the other node, and resumes exactly: every event once, in order, the ones published
 * while it was away included, checked by count and by id. Once with the native {@code
 * EventSource} (its own reconnect, sending {@code Last-Event-ID}), once with the example page on
 * fanout-client's 'sse' transport (its table). {@link NettySseBrowserIntegrationTest} runs it on
 * the Netty transport.
 */
class SseBrowserIntegrationTest {
  private static final File CHROMIUM = new File("/usr/bin/chromium");
  private static final File CHROMEDRIVER = new File("/usr/bin/chromedriver");
  private static final Path JAR = Path.of("target", "example-server.jar");
  private static final Duration WAIT = Duration.ofSeconds(30);

  @RegisterExtension final RedisServer redis = RedisServer.withAppendOnly();

  private ChromeDriver driver;
  private final List<AutoCloseable> open = new ArrayList<>();
  private Process first;
  private FeedServer second;
  private Front front;

  String transport() {
    return "jetty";
  }

  @BeforeEach
  void openBrowser() throws IOException {
    assertThat(CHROMIUM).as("Chromium is needed: apt-get install chromium chromium-driver")
        .exists();
    Path profile = Files.createTempDirectory("chromium-profile");
    ChromeOptions options = new ChromeOptions();
    options.setBinary(CHROMIUM);
    options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu",
        "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--user-data-dir=" + profile);
    driver = new ChromeDriver(new ChromeDriverService.Builder()
        .usingDriverExecutable(CHROMEDRIVER).usingAnyFreePort().build(), options);
  }

  @AfterEach
  void closeAll() throws Exception {
    if (driver != null) {
      driver.quit();
    }
    if (first != null) {
      first.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
    for (int i = open.size() - 1; i >= 0; i--) {
      open.get(i).close();
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /**
   * The first node as a process (the packaged jar), the second in this JVM, both on the test's
   * Redis, and the front that sends connections to the first while it lives.
   */
  private void twoNodes() throws Exception {
    assertThat(JAR).as("the shaded jar (built by mvn package)").exists();
    int firstPort = freePort();
    int secondPort = freePort();
    front = new Front(List.of(firstPort, secondPort));
    open.add(front);
    String origin = "http://127.0.0.1:" + front.port();
    Path log = Files.createTempFile("sse-node", ".log");
    first = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-jar", JAR.toString(), "--host", "127.0.0.1", "--port", String.valueOf(firstPort),
        "--redis", redis.uri().toString(), "--namespace", "sse", "--generator", "off",
        "--transport", transport(), "--warmup-connections", "0", "--allowed-origins", origin)
        .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    FeedServer.Config c = new FeedServer.Config();
    c.port = secondPort;
    c.redis = redis.uri();
    c.namespace = "sse";
    c.generator = false;
    c.shutdownSpread = Duration.ZERO;
    c.transport = transport();
    c.allowedOrigins = List.of(origin);
    second = FeedServer.start(c);
    open.add(second);
    HttpClient http = HttpClient.newHttpClient();
    URI ready = URI.create("http://127.0.0.1:" + firstPort + "/health/ready");
    await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() -> http.send(
        HttpRequest.newBuilder(ready).build(), HttpResponse.BodyHandlers.discarding())
        .statusCode() == 200);
  }

  /** Publishes {@code count} payments of {@code merchant}; their ids. */
  private static List<String> publish(RedisPublisher p, String merchant, int from, int count) {
    List<String> ids = new ArrayList<>();
    for (int i = from; i < from + count; i++) {
      ids.add(p.publish(merchant, Map.of("method", "card"),
          "{\"paymentId\":\"pay_" + i + "\",\"merchantId\":\"" + merchant
              + "\",\"method\":\"card\",\"status\":\"captured\",\"amount\":" + i
              + ",\"currency\":\"EUR\"}").toString());
    }
    return ids;
  }

  /** Kills the first node while {@code during} publishes: mid-stream. */
  private List<String> killFirstWhile(RedisPublisher p, String merchant, int from)
      throws Exception {
    List<String> ids = new ArrayList<>(publish(p, merchant, from, 10));
    first.destroyForcibly(); // SIGKILL: no drain, the sockets just end
    ids.addAll(publish(p, merchant, from + 10, 20)); // while the browser finds the other node
    assertThat(first.waitFor(10, TimeUnit.SECONDS)).isTrue();
    return ids;
  }

  private Object js(String script) {
    return ((JavascriptExecutor) driver).executeScript(script);
  }

  @SuppressWarnings("unchecked")
  private List<String> strings(String script) {
    return ((List<Object>) js(script)).stream().map(String::valueOf)
        .collect(Collectors.toList());
  }

  private long subscribes() {
    return (Long) js("return window.sse.subscribed.length");
  }

  private boolean pageLive() {
    return "open".equals(driver.findElement(By.id("connection")).getAttribute("data-state"));
  }

  @Test
  void theNativeReconnectResumesExactlyOnAnotherNodeAfterAKill() throws Exception {
    twoNodes();
    try (RedisPublisher publisher = RedisPublisher.create(redis.uri(),
        RedisStream.named("sse"))) {
      driver.get("http://127.0.0.1:" + front.port() + "/health/live");
      js("window.sse = {ids: [], subscribed: []};"
          + "const es = new EventSource('/events?topics=mch_1');"
          + "es.addEventListener('event', e => window.sse.ids.push(JSON.parse(e.data).id));"
          + "es.addEventListener('subscribed', e => window.sse.subscribed.push(e.data));"
          + "window.es = es;");
      await().atMost(WAIT).until(() -> subscribes() == 1);
      assertThat(second.node().status().connections()).as("on the first node").isZero();
      List<String> expected = new ArrayList<>(publish(publisher, "mch_1", 0, 5));
      publish(publisher, "mch_2", 0, 3); // not subscribed
      await().atMost(WAIT).until(() -> strings("return window.sse.ids.slice()").size() == 5);

      expected.addAll(killFirstWhile(publisher, "mch_1", 5));
      await().atMost(WAIT).until(() -> subscribes() == 2);
      assertThat(second.node().status().connectionsByTransport()).containsEntry("sse", 1);
      assertThat((String) js("return window.sse.subscribed[1]")).contains("\"recovered\":true");
      expected.addAll(publish(publisher, "mch_1", 35, 1));
      await().atMost(WAIT)
          .until(() -> strings("return window.sse.ids.slice()").size() >= expected.size());
      List<String> ids = strings("return window.sse.ids.slice()");
      assertThat(ids).hasSize(expected.size()).containsExactlyElementsOf(expected);
      assertThat(js("return window.es.readyState")).isEqualTo(1L); // OPEN
    }
  }

  /** The example page on fanout-client's 'sse' transport: its table after a kill. */
  @Test
  void thePageOnSseHoldsEveryEventOnceAfterItsNodeIsKilled() throws Exception {
    twoNodes();
    try (RedisPublisher publisher = RedisPublisher.create(redis.uri(),
        RedisStream.named("sse"))) {
      driver.get("http://127.0.0.1:" + front.port() + "/?transport=sse");
      await().atMost(WAIT).until(this::pageLive);
      assertThat(js("return window.fanoutDebug.transport")).isEqualTo("sse");
      List<String> expected = new ArrayList<>(publish(publisher, "mch_01", 0, 10));
      await().atMost(WAIT).until(() -> strings("return window.fanoutDebug.ids.slice()")
          .size() == 10);

      expected.addAll(killFirstWhile(publisher, "mch_01", 10));
      await().atMost(WAIT).until(() -> second.node().status().connections() == 1);
      await().atMost(WAIT).until(this::pageLive);
      expected.addAll(publish(publisher, "mch_01", 40, 1));
      await().atMost(WAIT).until(() -> strings("return window.fanoutDebug.ids.slice()")
          .size() >= expected.size());
      assertThat(strings("return window.fanoutDebug.ids.slice()"))
          .containsExactlyElementsOf(expected);
      List<String> rows = strings("return Array.from(document.querySelectorAll('#rows tr'))"
          + ".map(tr => tr.dataset.eventId)");
      assertThat(rows).as("the table, newest first").hasSize(expected.size())
          .containsExactlyInAnyOrderElementsOf(expected).doesNotHaveDuplicates();
      assertThat(js("return window.fanoutDebug.resets.slice()")).isEqualTo(List.of("fresh"));
    }
  }
}
