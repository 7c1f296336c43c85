package dev.fanout.example;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fanout.redis.RedisPublisher;
import dev.fanout.redis.RedisServer;
import dev.fanout.redis.RedisStream;
import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
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
 * Debian's headless Chromium reading {@code /events} with its native {@code EventSource}: the
 * node it reads from stops (a paced drain), another node on the same Redis takes its port, and
 * the browser's own reconnect with {@code Last-Event-ID} resumes exactly: every event once, in
 * order, the ones published while no node served included. {@link NettySseBrowserIntegrationTest}
 * runs it on the Netty transport.
 */
class SseBrowserIntegrationTest {
  private static final File CHROMIUM = new File("/usr/bin/chromium");
  private static final File CHROMEDRIVER = new File("/usr/bin/chromedriver");
  private static final Duration WAIT = Duration.ofSeconds(20);

  @RegisterExtension final RedisServer redis = RedisServer.withAppendOnly();

  private ChromeDriver driver;
  private final List<FeedServer> servers = new ArrayList<>();
  private int port;

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
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
  }

  @AfterEach
  void closeAll() {
    if (driver != null) {
      driver.quit();
    }
    servers.forEach(FeedServer::close);
  }

  private FeedServer server() throws Exception {
    FeedServer.Config c = new FeedServer.Config();
    c.port = port; // the same port across the restart: the browser reconnects to its URL
    c.redis = redis.uri();
    c.namespace = "sse";
    c.generator = false;
    c.shutdownSpread = Duration.ofMillis(50);
    c.transport = transport();
    FeedServer s = FeedServer.start(c);
    servers.add(s);
    return s;
  }

  private static String publish(RedisPublisher p, String merchant, int i) {
    return p.publish(merchant, Map.of("method", "card"),
        "{\"merchantId\":\"" + merchant + "\",\"i\":" + i + "}").toString();
  }

  private Object js(String script) {
    return ((JavascriptExecutor) driver).executeScript(script);
  }

  @SuppressWarnings("unchecked")
  private List<String> ids() {
    return ((List<Object>) js("return window.sse.ids.slice()")).stream()
        .map(String::valueOf).collect(Collectors.toList());
  }

  private long subscribes() {
    return (Long) js("return window.sse.subscribed.length");
  }

  private boolean pageLive() {
    return "open".equals(driver.findElement(By.id("connection")).getAttribute("data-state"));
  }

  @SuppressWarnings("unchecked")
  private List<String> pageIds() {
    return ((List<Object>) js("return window.fanoutDebug.ids.slice()")).stream()
        .map(String::valueOf).collect(Collectors.toList());
  }

  /** The example page on fanout-client's 'sse' transport: a restart on Redis loses nothing. */
  @Test
  void thePageOnSseResumesARestartWithoutAGap() throws Exception {
    FeedServer a = server();
    try (RedisPublisher publisher = RedisPublisher.create(redis.uri(),
        RedisStream.named("sse"))) {
      driver.get("http://127.0.0.1:" + port + "/?transport=sse");
      await().atMost(WAIT).until(this::pageLive);
      assertThat(js("return window.fanoutDebug.transport")).isEqualTo("sse");
      assertThat(a.node().status().connections()).isEqualTo(1); // the stream, no WebSocket
      List<String> expected = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        expected.add(publish(publisher, "mch_01", i));
      }
      await().atMost(WAIT).until(() -> pageIds().size() == 10);
      a.close();
      servers.remove(a);
      await().atMost(WAIT).until(() -> !pageLive());
      for (int i = 10; i < 20; i++) {
        expected.add(publish(publisher, "mch_01", i));
      }
      server();
      await().atMost(Duration.ofSeconds(40)).until(this::pageLive);
      expected.add(publish(publisher, "mch_01", 20));
      await().atMost(WAIT).until(() -> pageIds().size() >= 21);
      assertThat(pageIds()).containsExactlyElementsOf(expected);
      assertThat(js("return window.fanoutDebug.resets.slice()")).isEqualTo(List.of("fresh"));
    }
  }

  @Test
  void theNativeReconnectResumesExactlyOnAnotherNode() throws Exception {
    FeedServer a = server();
    RedisPublisher publisher = RedisPublisher.create(redis.uri(), RedisStream.named("sse"));
    try (publisher) {
      driver.get("http://127.0.0.1:" + port + "/health/live");
      js("window.sse = {ids: [], subscribed: []};"
          + "const es = new EventSource('/events?topics=mch_1');"
          + "es.addEventListener('event', e => window.sse.ids.push(JSON.parse(e.data).id));"
          + "es.addEventListener('subscribed', e => window.sse.subscribed.push(e.data));"
          + "window.es = es;");
      await().atMost(WAIT).until(() -> subscribes() == 1);
      List<String> expected = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        expected.add(publish(publisher, "mch_1", i));
        publish(publisher, "mch_2", i); // not subscribed
      }
      await().atMost(WAIT).until(() -> ids().size() == 5);

      a.close(); // the drain ends the stream; the browser retries after its retry: delay
      servers.remove(a);
      for (int i = 5; i < 10; i++) {
        expected.add(publish(publisher, "mch_1", i)); // while no node serves
      }
      server(); // another node on the same Redis, at the same address
      await().atMost(WAIT).until(() -> subscribes() == 2);
      assertThat((String) js("return window.sse.subscribed[1]"))
          .contains("\"recovered\":true", "\"missed\":5");
      expected.add(publish(publisher, "mch_1", 10));
      await().atMost(WAIT).until(() -> ids().size() >= 11);
      assertThat(ids()).containsExactlyElementsOf(expected); // each once, in order
      assertThat(js("return window.es.readyState")).isEqualTo(1L); // OPEN
    }
  }
}
