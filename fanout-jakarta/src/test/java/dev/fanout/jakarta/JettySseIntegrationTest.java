package dev.fanout.jakarta;

import dev.fanout.protocol.SseFixture;
import dev.fanout.protocol.SseSuite;

/** The SSE suite on {@link SseServlet} in embedded Jetty 12. */
class JettySseIntegrationTest extends SseSuite {
  @Override
  protected SseFixture newServer() {
    return SseServletFixture.jetty();
  }
}
