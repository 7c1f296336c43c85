package dev.fanout.netty;

import dev.fanout.protocol.FanoutNode;
import dev.fanout.protocol.SseFixture;
import dev.fanout.protocol.SseSuite;
import java.net.URI;

/** The SSE suite on the Netty transport: {@code FanoutNettyServer} with {@code sse("/events")}. */
class NettySseIntegrationTest extends SseSuite {
  @Override
  protected SseFixture newServer() {
    return new SseFixture() {
      private FanoutNettyServer server;

      @Override
      public URI start(FanoutNode node) throws Exception {
        server = FanoutNettyServer.builder(node).host("127.0.0.1").port(0).path("/ws")
            .sse("/events").ioThreads(2).start();
        return URI.create("http://127.0.0.1:" + server.port() + "/events");
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
