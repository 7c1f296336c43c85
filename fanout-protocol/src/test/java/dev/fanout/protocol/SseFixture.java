package dev.fanout.protocol;

import java.net.URI;

/**
 * A transport's Server-Sent Events endpoint on a real server, started on a free loopback port,
 * that {@link SseSuite} runs against: each adapter's tests implement one per server it supports.
 */
public interface SseFixture extends AutoCloseable {

  /** Serves {@code node} and starts listening; returns the http:// URI of its {@code /events}. */
  URI start(FanoutNode node) throws Exception;

  /**
   * Whether the server ends the connection of a stream that the node closed while its client was
   * not reading (backpressure), once the client reads again. Jetty and Netty do; Tomcat keeps it
   * open (SseServlet's {@code AsyncContext.complete()} behind a write that waits).
   */
  default boolean endsAStreamClosedBehindAWaitingWrite() {
    return true;
  }

  @Override
  void close();
}
