package dev.fanout.netty;

import dev.fanout.core.Hub;
import dev.fanout.core.InMemoryStream;
import dev.fanout.protocol.FanoutNode;
import java.net.URI;
import java.util.function.Consumer;

/** A Netty server on a free loopback port, serving an in-memory node: for the transport's tests. */
final class LoopbackServer implements AutoCloseable {
  final Hub hub;
  final FanoutNode node;
  final FanoutNettyServer server;
  final URI uri;

  LoopbackServer(Consumer<FanoutNode.Builder> nodeSettings,
      Consumer<FanoutNettyServer.Builder> serverSettings) throws InterruptedException {
    FanoutNode.Builder nb = FanoutNode.builder().stream(InMemoryStream.create(100));
    nodeSettings.accept(nb);
    node = nb.build().start();
    hub = node.hub();
    FanoutNettyServer.Builder sb = FanoutNettyServer.builder(node).host("127.0.0.1").port(0);
    serverSettings.accept(sb);
    server = sb.start();
    uri = URI.create("ws://127.0.0.1:" + server.port() + "/ws");
  }

  @Override
  public void close() {
    node.close();
    server.close();
  }
}
