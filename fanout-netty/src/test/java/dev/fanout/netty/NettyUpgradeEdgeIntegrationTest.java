package dev.fanout.netty;

import dev.fanout.protocol.FanoutNode;
import dev.fanout.protocol.ServerFixture;
import dev.fanout.protocol.UpgradeEdgeSuite;
import java.net.URI;

/** The upgrade edge suite on the Netty transport, which answers every upgrade itself. */
class NettyUpgradeEdgeIntegrationTest extends UpgradeEdgeSuite {
  @Override
  protected ServerFixture newServer() {
    return new ServerFixture() {
      private FanoutNettyServer server;

      @Override
      public URI start(FanoutNode node) throws Exception {
        server = FanoutNettyServer.builder(node).host("127.0.0.1").port(0).path("/ws")
            .ioThreads(1).start();
        return URI.create("ws://127.0.0.1:" + server.port() + "/ws");
      }

      @Override
      public void close() {
        if (server != null) {
          server.close();
        }
      }
    };
  }
}
