package dev.fanout.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.HostAndPort;

/** The URI forms, parsed without connecting. */
class RedisEndpointTest {
  private static RedisEndpoint parse(String uri) {
    return RedisEndpoint.parse(URI.create(uri), Duration.ofSeconds(2));
  }

  @Test
  void aClusterUriListsItsSeeds() {
    RedisEndpoint e = parse("redis-cluster://10.0.0.1:7000,10.0.0.2,redis-3.internal:7002");
    assertThat(e.isCluster()).isTrue();
    assertThat(e.isTls()).isFalse();
    assertThat(e.seeds()).containsExactly(new HostAndPort("10.0.0.1", 7000),
        new HostAndPort("10.0.0.2", 6379), new HostAndPort("redis-3.internal", 7002));
    assertThat(parse("redis-cluster://h:7000/0").isCluster()).isTrue();
    assertThat(parse("REDIS-CLUSTER://h:7000").isCluster()).isTrue();
  }

  @Test
  void aTlsClusterUriTakesTheOptionsOfRediss() throws Exception {
    RedisEndpoint e = parse("rediss-cluster://feed:s3cret@h:7000,h:7001");
    assertThat(e.isCluster()).isTrue();
    assertThat(e.isTls()).isTrue();
    assertThat(e.toString()).isEqualTo("rediss-cluster://feed:***@h:7000,h:7001");
    java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("fanout-endpoint-");
    try {
      TestCertificates.create(dir);
      RedisEndpoint withCa = parse("rediss-cluster://h:7000?ca=" + dir.resolve("ca.pem"));
      assertThat(withCa.isTls()).isTrue();
      assertThatThrownBy(() -> parse("rediss-cluster://h:7000?ca=" + dir.resolve("nope.pem")))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("TLS options");
    } finally {
      RedisServer.deleteTree(dir);
    }
  }

  @Test
  void theOtherFormsAreWhatTheyWere() {
    assertThat(parse("redis://h:1").isCluster()).isFalse();
    assertThat(parse("rediss://h:1").isTls()).isTrue();
    assertThat(parse("redis-sentinel://h:26379#m").isCluster()).isFalse();
    assertThat(parse("redis://h:1").seeds()).isNull();
  }

  @Test
  void badClusterUrisSayWhatIsWrong() {
    assertThatThrownBy(() -> parse("redis-cluster://h:7000/2"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("only database 0");
    assertThatThrownBy(() -> parse("redis-cluster://h:7000#mymaster"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("names no master");
    assertThatThrownBy(() -> parse("redis-cluster://h:7000?ca=/x.pem"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("need TLS");
    assertThatThrownBy(() -> parse("redis-cluster://h:70000"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a port");
    assertThatThrownBy(() -> parse("redis-cluster:///"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("redis-cluster://");
    assertThatThrownBy(() -> parse("redis://h1:1,h2:2"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("redis-cluster://");
    assertThatThrownBy(() -> parse("redis-cluster://u:pw@h:1/3"))
        .hasMessageNotContaining("pw").hasMessageContaining("***");
  }

  @Test
  void aBusFollowsAClusterAndPartitionsAndSaysWhatToFixInItsSettings() {
    RedisBus.builder(URI.create("redis-cluster://h:7000"), RedisStream.named("p"));
    RedisBus.builder(URI.create("redis://h:1"), RedisStream.named("p").withPartitions(4));
    assertThatThrownBy(() -> RedisBus.builder(URI.create("redis-cluster://h:7000"),
        RedisStream.named("p")).mapRefresh(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("map refresh");
  }
}
