package dev.fanout.jakarta;

import dev.fanout.protocol.ProtocolSuite;
import dev.fanout.protocol.ServerFixture;

/** The protocol suite on Tyrus (Grizzly). */
class TyrusProtocolIntegrationTest extends ProtocolSuite {
  @Override
  protected ServerFixture newServer() {
    return new JakartaServer(new TyrusFixture());
  }

  /** Tyrus's own answer (its handshake fails with an exception it reports as 500). */
  @Override
  protected int statusOfAnIncompleteUpgrade() {
    return 500;
  }
}
