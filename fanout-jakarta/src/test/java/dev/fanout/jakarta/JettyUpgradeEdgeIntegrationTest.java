package dev.fanout.jakarta;

import dev.fanout.protocol.ServerFixture;
import dev.fanout.protocol.UpgradeEdgeSuite;

/** The upgrade edge suite on Jetty, without fanout's HandshakeFilter: the container answers. */
class JettyUpgradeEdgeIntegrationTest extends UpgradeEdgeSuite {
  @Override
  protected ServerFixture newServer() {
    return new JakartaServer(new JettyFixture());
  }

  @Override
  protected boolean fanoutAnswersTheUpgrade() {
    return false;
  }
}
