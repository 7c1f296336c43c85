package dev.fanout.jakarta;

/** The protocol suite on embedded Jetty 12 (ee10). */
class JettyProtocolIntegrationTest extends ProtocolSuite {
  @Override
  ContainerFixture newContainer() {
    return new JettyFixture();
  }
}
