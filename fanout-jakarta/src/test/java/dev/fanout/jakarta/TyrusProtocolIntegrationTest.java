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

  /**
   * Tyrus (on Grizzly) keeps reading and queues every pong it owes: 256 MB of pings unread in
   * under 10 s here. Documented in embedding.md; fanout cannot see pings through the Jakarta API.
   */
  @Override
  protected boolean stopsReadingAPingerThatDoesNotRead() {
    return false;
  }
}
