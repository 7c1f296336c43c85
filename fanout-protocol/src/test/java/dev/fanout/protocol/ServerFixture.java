package dev.fanout.protocol;

import java.net.URI;

/**
 * A transport adapter on a real server, started on a free loopback port, that {@link
 * ProtocolSuite} runs against: each adapter's tests implement one per server it supports.
 */
public interface ServerFixture extends AutoCloseable {

  /** Serves {@code node} and starts listening; returns the ws:// URI of the endpoint. */
  URI start(FanoutNode node) throws Exception;

  /**
   * Whether the server gets a close frame out to a peer that is not reading, and drops the TCP
   * connection of a peer that never answers a close. Tyrus and Jetty do; Tomcat waits for the
   * peer (docs/embedding.md says what to do about it).
   */
  default boolean closesUnresponsivePeers() {
    return true;
  }

  /**
   * Whether the adapter writes a hot connection's queued events as their own frames in one write
   * ({@link ProtocolSocket#sendAll}) rather than as one {@code batch} frame. Netty does.
   */
  default boolean writesEventsTogether() {
    return false;
  }

  @Override
  void close();
}
