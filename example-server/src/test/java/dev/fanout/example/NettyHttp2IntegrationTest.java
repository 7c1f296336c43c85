package dev.fanout.example;

/** {@link Http2IntegrationTest} with the example server on the Netty transport. */
class NettyHttp2IntegrationTest extends Http2IntegrationTest {
  @Override
  String transport() {
    return "netty";
  }
}
