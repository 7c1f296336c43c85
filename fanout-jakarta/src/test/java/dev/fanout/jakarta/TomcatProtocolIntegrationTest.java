package dev.fanout.jakarta;

import dev.fanout.protocol.ProtocolSuite;
import dev.fanout.protocol.ServerFixture;

/** The protocol suite on embedded Tomcat 11. */
class TomcatProtocolIntegrationTest extends ProtocolSuite {
  @Override
  protected ServerFixture newServer() {
    return new JakartaServer(new TomcatFixture());
  }
}
