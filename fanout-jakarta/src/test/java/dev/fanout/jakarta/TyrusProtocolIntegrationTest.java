package dev.fanout.jakarta;

/** The protocol suite on Tyrus (Grizzly). */
class TyrusProtocolIntegrationTest extends ProtocolSuite {
  @Override
  ContainerFixture newContainer() {
    return new TyrusFixture();
  }
}
