package dev.fanout.jakarta;

import jakarta.websocket.server.ServerEndpointConfig;
import java.net.URI;

/** A real WebSocket container, started on a free loopback port, that a suite deploys into. */
interface ContainerFixture extends AutoCloseable {

  /** Deploys {@code config} and starts listening; returns the ws:// URI of the endpoint. */
  URI start(ServerEndpointConfig config) throws Exception;

  @Override
  void close();
}
