package dev.fanout.jakarta;

import dev.fanout.protocol.ServerFixture;
import dev.fanout.protocol.UpgradeEdgeSuite;

/** The upgrade edge suite on Tomcat, without fanout's HandshakeFilter: the container answers. */
class TomcatUpgradeEdgeIntegrationTest extends UpgradeEdgeSuite {
  @Override
  protected ServerFixture newServer() {
    return new JakartaServer(new TomcatFixture());
  }

  @Override
  protected boolean fanoutAnswersTheUpgrade() {
    return false;
  }
}
