package dev.fanout.jakarta;

/** The protocol suite on embedded Tomcat 11. */
class TomcatProtocolIntegrationTest extends ProtocolSuite {
  @Override
  ContainerFixture newContainer() {
    return new TomcatFixture();
  }
}
