package dev.fanout.jakarta;

import dev.fanout.protocol.FanoutNode;
import dev.fanout.protocol.ServerFixture;
import java.net.URI;

/** The protocol suite's server: a {@link FanoutWebSocket} deployed into a real container. */
final class JakartaServer implements ServerFixture {
  private final ContainerFixture container;

  JakartaServer(ContainerFixture container) {
    this.container = container;
  }

  @Override
  public URI start(FanoutNode node) throws Exception {
    return container.start(FanoutWebSocket.builder(node).build().endpointConfig());
  }

  @Override
  public boolean closesUnresponsivePeers() {
    return container.closesUnresponsivePeers();
  }

  @Override
  public void close() {
    container.close();
  }
}
