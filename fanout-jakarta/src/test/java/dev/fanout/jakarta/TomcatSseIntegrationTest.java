package dev.fanout.jakarta;

import dev.fanout.protocol.SseFixture;
import dev.fanout.protocol.SseSuite;

/** The SSE suite on {@link SseServlet} in embedded Tomcat 11. */
class TomcatSseIntegrationTest extends SseSuite {
  @Override
  protected SseFixture newServer() {
    return SseServletFixture.tomcat();
  }
}
