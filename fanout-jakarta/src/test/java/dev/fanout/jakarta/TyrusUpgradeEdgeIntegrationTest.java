package dev.fanout.jakarta;

import dev.fanout.protocol.ServerFixture;
import dev.fanout.protocol.UpgradeEdgeSuite;

/** The upgrade edge suite on Tyrus, without fanout's HandshakeFilter: the container answers. */
class TyrusUpgradeEdgeIntegrationTest extends UpgradeEdgeSuite {
  @Override
  protected ServerFixture newServer() {
    return new JakartaServer(new TyrusFixture());
  }

  @Override
  protected boolean fanoutAnswersTheUpgrade() {
    return false;
  }

  /**
   * Tyrus on Grizzly drops what arrives in the same packet as the upgrade request: a subscribe
   * sent with it is never answered, and a frame split across it is lost. Browsers send the first
   * frame after the 101; docs/embedding.md names the limit.
   */
  @Override
  protected boolean keepsBytesSentWithTheUpgrade() {
    return false;
  }
}
