package dev.fanout.jakarta;

import dev.fanout.protocol.ProtocolSuite;
import dev.fanout.protocol.ServerFixture;

/** The protocol suite on Tyrus (Grizzly). */
class TyrusProtocolIntegrationTest extends ProtocolSuite {
  @Override
  protected ServerFixture newServer() {
    return new JakartaServer(new TyrusFixture());
  }
}
