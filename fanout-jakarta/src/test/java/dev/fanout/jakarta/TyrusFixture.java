package dev.fanout.jakarta;

import jakarta.websocket.server.ServerEndpointConfig;
import java.net.URI;
import java.util.Map;
import org.glassfish.tyrus.container.grizzly.server.GrizzlyServerContainer;
import org.glassfish.tyrus.server.TyrusServerContainer;

/** Tyrus standalone on Grizzly. */
final class TyrusFixture implements ContainerFixture {
  private TyrusServerContainer container;

  @Override
  public URI start(ServerEndpointConfig config) throws Exception {
    container = (TyrusServerContainer) new GrizzlyServerContainer().createContainer(Map.of());
    container.addEndpoint(config);
    container.start("/", 0);
    return URI.create("ws://127.0.0.1:" + container.getPort() + config.getPath());
  }

  @Override
  public void close() {
    if (container != null) {
      container.stop();
    }
  }
}
