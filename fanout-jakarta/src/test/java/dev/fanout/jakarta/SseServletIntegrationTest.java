package dev.fanout.jakarta;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fanout.core.InMemoryStream;
import dev.fanout.protocol.FanoutNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;
import org.apache.catalina.Context;
import org.apache.catalina.Wrapper;
import org.apache.catalina.connector.Connector;
import org.apache.catalina.startup.Tomcat;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link SseServlet} on embedded Tomcat 11 and Jetty 12 over real HTTP: events with their ids
 * through the async API's non-blocking writes, exact resume by {@code Last-Event-ID}, a refused
 * subscription answered 400 with JSON, and a client that left noticed (at the next heartbeat).
 */
class SseServletIntegrationTest {
  private static final Duration WAIT = Duration.ofSeconds(10);
  private final List<AutoCloseable> open = new ArrayList<>();
  private FanoutNode node;

  @AfterEach
  void closeAll() throws Exception {
    for (int i = open.size() - 1; i >= 0; i--) {
      open.get(i).close();
    }
  }

  private URI start(String container) throws Exception {
    node = FanoutNode.builder().stream(InMemoryStream.create(1000))
        .heartbeat(Duration.ofMillis(200), Duration.ofSeconds(5)).build().start();
    open.add(node::close);
    SseServlet servlet = new SseServlet(node);
    if (container.equals("tomcat")) {
      Path base = Files.createTempDirectory("tomcat");
      Tomcat tomcat = new Tomcat();
      tomcat.setBaseDir(base.toString());
      Connector connector = new Connector();
      connector.setPort(0);
      connector.setProperty("address", "127.0.0.1");
      tomcat.setConnector(connector);
      Context context = tomcat.addContext("", base.toString());
      Wrapper w = Tomcat.addServlet(context, "events", servlet);
      w.setAsyncSupported(true);
      context.addServletMappingDecoded("/events", "events");
      tomcat.start();
      open.add(() -> {
        tomcat.stop();
        tomcat.destroy();
      });
      return URI.create("http://127.0.0.1:" + connector.getLocalPort() + "/events");
    }
    Server server = new Server();
    ServerConnector connector = new ServerConnector(server);
    connector.setHost("127.0.0.1");
    server.addConnector(connector);
    ServletContextHandler context = new ServletContextHandler("/");
    ServletHolder holder = new ServletHolder(servlet);
    holder.setAsyncSupported(true);
    context.addServlet(holder, "/events");
    server.setHandler(context);
    server.start();
    open.add(server::stop);
    return URI.create("http://127.0.0.1:" + connector.getLocalPort() + "/events");
  }

  private String publish(String topic) {
    return node.publish(topic, Map.of("method", "card"), "{\"t\":\"" + topic + "\"}").toString();
  }

  @ParameterizedTest
  @ValueSource(strings = {"tomcat", "jetty"})
  void streamsResumesAndRefuses(String container) throws Exception {
    URI events = start(container);
    Reader first = new Reader(URI.create(events + "?topics=a"));
    open.add(first);
    assertThat(first.response.headers().firstValue("Content-Type").orElse(""))
        .startsWith("text/event-stream");
    await().atMost(WAIT).until(() -> first.lines.contains("event: subscribed"));
    List<String> ids = List.of(publish("a"), publish("a"), publish("a"));
    publish("b");
    await().atMost(WAIT).until(() -> first.ids().size() == 3);
    assertThat(first.ids()).isEqualTo(ids);
    first.close();
    await().atMost(WAIT).until(() -> node.status().connections() == 0);

    List<String> missed = List.of(publish("a"), publish("a"));
    Reader back = new Reader(URI.create(events + "?topics=a"), "Last-Event-ID", ids.get(2));
    open.add(back);
    await().atMost(WAIT).until(() -> back.ids().size() == 2);
    assertThat(back.ids()).isEqualTo(missed);
    assertThat(back.lines).anyMatch(l -> l.contains("\"recovered\":true,\"missed\":2"));

    HttpResponse<String> bad = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
        URI.create(events + "?filter.method=" + "v,".repeat(40) + "v")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(bad.statusCode()).isEqualTo(400);
    assertThat(bad.headers().firstValue("Content-Type").orElse("")).contains("application/json");
    assertThat(bad.body()).contains("\"code\":\"too_many\"");
  }

  /** The body's lines, read on a thread of its own. */
  private static final class Reader implements AutoCloseable {
    final HttpResponse<Stream<String>> response;
    final List<String> lines = new CopyOnWriteArrayList<>();

    Reader(URI uri, String... headers) throws Exception {
      HttpRequest.Builder b = HttpRequest.newBuilder(uri);
      for (int i = 0; i < headers.length; i += 2) {
        b.header(headers[i], headers[i + 1]);
      }
      response = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()
          .send(b.build(), HttpResponse.BodyHandlers.ofLines());
      Thread t = new Thread(() -> {
        try {
          Iterator<String> it = response.body().iterator();
          while (it.hasNext()) {
            lines.add(it.next());
          }
        } catch (RuntimeException closed) {
          // closed by the test
        }
      }, "sse-reader");
      t.setDaemon(true);
      t.start();
    }

    /** The ids of the {@code event} events. */
    List<String> ids() {
      List<String> ids = new ArrayList<>();
      for (int i = 0; i + 1 < lines.size(); i++) {
        if (lines.get(i).equals("event: event") && lines.get(i + 1).startsWith("id: ")) {
          ids.add(lines.get(i + 1).substring(4));
        }
      }
      return ids;
    }

    @Override
    public void close() {
      response.body().close();
    }
  }
}
