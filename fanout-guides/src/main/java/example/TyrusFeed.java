package example;

import dev.fanout.core.EventId;
import dev.fanout.core.InMemoryStream;
import dev.fanout.jakarta.FanoutWebSocket;
import dev.fanout.protocol.Authenticator;
import dev.fanout.protocol.FanoutNode;
import java.time.Duration;
import java.util.Map;
import org.glassfish.tyrus.container.grizzly.server.GrizzlyServerContainer;
import org.glassfish.tyrus.server.TyrusServerContainer;

/**
 * A live feed on Tyrus's standalone container (Grizzly) at ws://host:port/ws: docs/embedding.md
 * shows this file whole, and says what Tyrus does not protect against. It listens on every
 * interface (the container takes no bind address): keep it behind a firewall or a proxy.
 */
public final class TyrusFeed implements AutoCloseable {
  private final FanoutNode node;
  private final TyrusServerContainer container;

  public TyrusFeed(int port, String allowedOrigin) throws Exception {
    node = FanoutNode.builder()
        .stream(InMemoryStream.create(100_000)) // several nodes: a RedisBus
        .allowedOrigins(allowedOrigin)
        .authenticator(Authenticator.allowAll()) // everyone sees everything: yours goes here
        .build();
    FanoutWebSocket ws = FanoutWebSocket.builder(node).path("/ws").build();
    container = (TyrusServerContainer) new GrizzlyServerContainer().createContainer(Map.of());
    container.addEndpoint(ws.endpointConfig());
    container.start("/", port);
    node.start();
  }

  /** What the service calls for each event; data is one JSON value. */
  public EventId publish(String topic, Map<String, String> attributes, String json) {
    return node.publish(topic, attributes, json);
  }

  public int port() {
    return container.getPort();
  }

  /** 1001 to every client, paced over 2 s, while Tyrus still writes; then Tyrus stops. */
  @Override
  public void close() {
    node.shutdown(Duration.ofSeconds(2));
    container.stop();
  }

  public static void main(String[] args) throws Exception {
    TyrusFeed feed = new TyrusFeed(8080, "http://localhost:8080");
    Runtime.getRuntime().addShutdownHook(new Thread(feed::close));
    for (int i = 1; ; i++) { // an event a second until the JVM is stopped
      feed.publish("mch_1", Map.of("status", "captured"), "{\"n\":" + i + "}");
      Thread.sleep(1000);
    }
  }
}
