package dev.fanout.example;

/** {@link JwtIntegrationTest} with the example server on the Netty transport. */
class NettyJwtIntegrationTest extends JwtIntegrationTest {
  @Override
  String transport() {
    return "netty";
  }
}
