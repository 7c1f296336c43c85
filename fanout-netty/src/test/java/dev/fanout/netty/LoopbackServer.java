package dev.fanout.netty;

import dev.fanout.core.Hub;
import dev.fanout.core.InMemoryStream;
import dev.fanout.protocol.FanoutProtocol;
import java.net.URI;
import java.util.function.Consumer;

/** A Netty server on a free loopback port, over an in-memory hub: for the transport's own tests. */
final class LoopbackServer implements AutoCloseable {
  final Hub hub;
  final FanoutProtocol protocol;
  final FanoutNettyServer server;
  final URI uri;

  LoopbackServer(Consumer<FanoutProtocol.Builder> protocolSettings,
      Consumer<FanoutNettyServer.Builder> serverSettings) throws InterruptedException {
    InMemoryStream stream = InMemoryStream.create(100);
    hub = Hub.builder().bus(stream).history(stream).build();
    FanoutProtocol.Builder pb = FanoutProtocol.builder(hub);
    protocolSettings.accept(pb);
    protocol = pb.build();
    FanoutNettyServer.Builder sb = FanoutNettyServer.builder(protocol).host("127.0.0.1").port(0);
    serverSettings.accept(sb);
    server = sb.start();
    uri = URI.create("ws://127.0.0.1:" + server.port() + "/ws");
  }

  @Override
  public void close() {
    protocol.close();
    server.close();
  }
}
