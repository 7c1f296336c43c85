package example;

import dev.fanout.core.EventId;
import dev.fanout.core.InMemoryStream;
import dev.fanout.jakarta.FanoutWebSocket;
import dev.fanout.jakarta.HandshakeFilter;
import dev.fanout.protocol.Authenticator;
import dev.fanout.protocol.FanoutNode;
import jakarta.servlet.http.HttpServlet;
import jakarta.websocket.DeploymentException;
import jakarta.websocket.server.ServerContainer;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Map;
import org.apache.catalina.Context;
import org.apache.catalina.connector.Connector;
import org.apache.catalina.startup.Tomcat;
import org.apache.tomcat.util.descriptor.web.FilterDef;
import org.apache.tomcat.util.descriptor.web.FilterMap;
import org.apache.tomcat.websocket.WsWebSocketContainer;
import org.apache.tomcat.websocket.server.WsSci;

/** A live feed on Tomcat 11 at ws://host:port/ws: docs/embedding.md shows this file whole. */
public final class TomcatFeed implements AutoCloseable {
  private final FanoutNode node;
  private final Tomcat tomcat = new Tomcat();
  private final Connector connector = new Connector();

  public TomcatFeed(String host, int port, String allowedOrigin) throws Exception {
    node = FanoutNode.builder()
        .stream(InMemoryStream.create(100_000)) // several nodes: a RedisBus
        .allowedOrigins(allowedOrigin)
        .authenticator(Authenticator.allowAll()) // everyone sees everything: yours goes here
        .build();
    FanoutWebSocket ws = FanoutWebSocket.builder(node).path("/ws").build();
    String base = Files.createTempDirectory("tomcat").toString();
    tomcat.setBaseDir(base);
    connector.setProperty("address", host); // 127.0.0.1: this machine only
    connector.setPort(port);
    tomcat.setConnector(connector);
    Context context = tomcat.addContext("", base);
    context.addServletContainerInitializer(new WsSci(), null);
    // Tomcat runs its upgrade filter only for requests mapped to a servlet: map one.
    Tomcat.addServlet(context, "default", new HttpServlet() {});
    context.addServletMappingDecoded("/", "default");
    // Refused handshakes get their exact status (401, 403, 426, 503), before the upgrade.
    FilterDef filter = new FilterDef();
    filter.setFilterName("fanout-handshake");
    filter.setFilter(new HandshakeFilter(node));
    context.addFilterDef(filter);
    FilterMap mapping = new FilterMap();
    mapping.setFilterName("fanout-handshake");
    mapping.addURLPattern("/ws");
    context.addFilterMapBefore(mapping);
    // Initializers run in order: WsSci has created the ServerContainer by now.
    context.addServletContainerInitializer((classes, servletContext) -> {
      ServerContainer container =
          (ServerContainer) servletContext.getAttribute(ServerContainer.class.getName());
      // Tomcat checks close timeouts every 10 s by default; fanout's close deadline needs 1 s.
      ((WsWebSocketContainer) container).setProcessPeriod(1);
      try {
        container.addEndpoint(ws.endpointConfig());
      } catch (DeploymentException e) {
        throw new IllegalStateException(e);
      }
    }, null);
    tomcat.start();
    node.start();
  }

  /** What the service calls for each event; data is one JSON value. */
  public EventId publish(String topic, Map<String, String> attributes, String json) {
    return node.publish(topic, attributes, json);
  }

  public int port() {
    return connector.getLocalPort();
  }

  /** 1001 to every client, paced over 2 s, while Tomcat still writes; then Tomcat stops. */
  @Override
  public void close() throws Exception {
    node.shutdown(Duration.ofSeconds(2));
    tomcat.stop();
    tomcat.destroy();
  }

  public static void main(String[] args) throws Exception {
    TomcatFeed feed = new TomcatFeed("127.0.0.1", 8080, "http://localhost:8080");
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        feed.close();
      } catch (Exception e) {
        e.printStackTrace();
      }
    }));
    for (int i = 1; ; i++) { // an event a second until the JVM is stopped
      feed.publish("mch_1", Map.of("status", "captured"), "{\"n\":" + i + "}");
      Thread.sleep(1000);
    }
  }
}
