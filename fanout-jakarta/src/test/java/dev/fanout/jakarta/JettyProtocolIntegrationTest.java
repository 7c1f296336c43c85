package dev.fanout.jakarta;

import dev.fanout.protocol.ProtocolSuite;
import dev.fanout.protocol.ServerFixture;

/** The protocol suite on embedded Jetty 12 (ee10). */
class JettyProtocolIntegrationTest extends ProtocolSuite {
  @Override
  protected ServerFixture newServer() {
    return new JakartaServer(new JettyFixture());
  }
}
