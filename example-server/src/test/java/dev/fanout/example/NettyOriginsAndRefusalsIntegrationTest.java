package dev.fanout.example;

/** {@link OriginsAndRefusalsIntegrationTest} with the example server on the Netty transport. */
class NettyOriginsAndRefusalsIntegrationTest extends OriginsAndRefusalsIntegrationTest {
  @Override
  String transport() {
    return "netty";
  }
}
