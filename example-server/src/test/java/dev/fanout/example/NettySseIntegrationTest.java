package dev.fanout.example;

/** {@link SseIntegrationTest} with the example server on the Netty transport. */
class NettySseIntegrationTest extends SseIntegrationTest {
  @Override
  String transport() {
    return "netty";
  }
}
