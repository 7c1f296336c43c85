package dev.fanout.jakarta;

import dev.fanout.protocol.ServerFixture;
import dev.fanout.protocol.UpgradeEdgeSuite;

/** The upgrade edge suite on Jetty 12 with {@link HandshakeFilter} in front of the endpoint. */
class FilteredJettyUpgradeEdgeIntegrationTest extends UpgradeEdgeSuite {
  @Override
  protected ServerFixture newServer() {
    return new FilteredJettyServer();
  }
}
