package dev.fanout.netty;

import dev.fanout.protocol.FanoutNode;
import dev.fanout.protocol.ProtocolSuite;
import dev.fanout.protocol.ServerFixture;
import java.net.URI;

/** The protocol suite on the Netty transport, unchanged. */
class NettyProtocolIntegrationTest extends ProtocolSuite {
  @Override
  protected ServerFixture newServer() {
    return new ServerFixture() {
      private FanoutNettyServer server;

      @Override
      public URI start(FanoutNode node) throws Exception {
        server = FanoutNettyServer.builder(node).host("127.0.0.1").port(0).path("/ws")
            .ioThreads(2).start();
        return URI.create("ws://127.0.0.1:" + server.port() + "/ws");
      }

      @Override
      public boolean writesEventsTogether() {
        return true;
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
