package dev.fanout.example;

/** {@link ExampleServerIntegrationTest} with the example server on the Netty transport. */
class NettyExampleServerIntegrationTest extends ExampleServerIntegrationTest {
  @Override
  String transport() {
    return "netty";
  }
}
