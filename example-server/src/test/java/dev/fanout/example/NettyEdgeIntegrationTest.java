package dev.fanout.example;

/** {@link EdgeIntegrationTest} with the example server on the Netty transport. */
class NettyEdgeIntegrationTest extends EdgeIntegrationTest {
  @Override
  String transport() {
    return "netty";
  }
}
