package dev.fanout.example;

/** {@link BrowserIntegrationTest} with the example server on the Netty transport. */
class NettyBrowserIntegrationTest extends BrowserIntegrationTest {
  @Override
  String transport() {
    return "netty";
  }
}
