package dev.fanout.example;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * The command line's defaults that depend on the mode (issue 28, a calm first run): the
 * embedded demo binds the loopback, starts cold and caps connections below a common open-file
 * limit; a Redis node warms up and takes a fleet's share of clients. Flags win either way.
 */
class ExampleServerDefaultsTest {
  private static FeedServer.Config parse(String... args) {
    ExampleServer server = new ExampleServer();
    new picocli.CommandLine(server).parseArgs(args);
    return server.config();
  }

  @Test
  void theEmbeddedDemoBindsTheLoopbackStartsColdAndCapsBelowTwentyThousandFiles() {
    FeedServer.Config c = parse();
    assertThat(c.redis).isNull();
    assertThat(c.host).isEqualTo("127.0.0.1");
    assertThat(c.warmupConnections).isZero();
    assertThat(c.maxConnections).isEqualTo(ExampleServer.EMBEDDED_MAX_CONNECTIONS);
    assertThat(c.maxConnections + FeedServer.FILES_OF_ITS_OWN).isLessThanOrEqualTo(20_000);
  }

  @Test
  void aRedisNodeWarmsUpAndTakesAFleetsShareOfConnections() {
    FeedServer.Config c = parse("--redis", "redis://127.0.0.1:6379");
    assertThat(c.host).isEqualTo("127.0.0.1");
    assertThat(c.warmupConnections).isEqualTo(ExampleServer.REDIS_WARMUP_CONNECTIONS);
    assertThat(c.maxConnections).isEqualTo(ExampleServer.REDIS_MAX_CONNECTIONS);
  }

  @Test
  void flagsForceTheWarmUpTheCapAndTheAddressEitherWay() {
    FeedServer.Config embedded = parse("--warmup-connections", "300", "--max-connections",
        "50000", "--host", "0.0.0.0");
    assertThat(embedded.warmupConnections).isEqualTo(300);
    assertThat(embedded.maxConnections).isEqualTo(50_000);
    assertThat(embedded.host).isEqualTo("0.0.0.0");
    FeedServer.Config redis = parse("--redis", "redis://127.0.0.1:6379",
        "--warmup-connections", "0", "--max-connections", "20");
    assertThat(redis.warmupConnections).isZero();
    assertThat(redis.maxConnections).isEqualTo(20);
  }
}
