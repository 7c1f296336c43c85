package dev.fanout.jakarta;

import jakarta.websocket.server.ServerEndpointConfig;
import java.net.URI;

/** A real WebSocket container, started on a free loopback port, that a suite deploys into. */
interface ContainerFixture extends AutoCloseable {

  /** Deploys {@code config} and starts listening; returns the ws:// URI of the endpoint. */
  URI start(ServerEndpointConfig config) throws Exception;

  /**
   * Whether the container gets a close frame out to a peer that is not reading, and drops the TCP
   * connection of a peer that never answers a close. Tyrus and Jetty do; Tomcat waits for the
   * peer (docs/embedding.md says what to do about it).
   */
  default boolean closesUnresponsivePeers() {
    return true;
  }

  @Override
  void close();
}
