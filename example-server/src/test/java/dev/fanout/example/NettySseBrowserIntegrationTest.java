package dev.fanout.example;

/** {@link SseBrowserIntegrationTest} with the example server on the Netty transport. */
class NettySseBrowserIntegrationTest extends SseBrowserIntegrationTest {
  @Override
  String transport() {
    return "netty";
  }
}
