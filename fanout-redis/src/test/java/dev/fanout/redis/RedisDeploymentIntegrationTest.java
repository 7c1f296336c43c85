package dev.fanout.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.fanout.core.EventId;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import redis.clients.jedis.Jedis;

/** Redis as deployed: TLS with a CA of its own, ACL users, and bad configurations. */
class RedisDeploymentIntegrationTest {

  @Test
  void overTlsWithItsOwnCaEventsFlowAndAnUntrustedCertificateIsNamed() throws Exception {
    RedisServer redis = RedisServer.withTls();
    redis.start();
    URI uri = redis.tlsUri();
    int tlsPort = uri.getPort();
    RedisStream stream = RedisStream.named("tls");
    try (RedisBus bus = RedisBus.builder(uri, stream).build();
        RedisPublisher publisher = RedisPublisher.create(uri, stream)) {
      Oracle oracle = new Oracle();
      bus.subscribe(oracle);
      RedisBus.check(uri);
      await().atMost(Duration.ofSeconds(10)).until(() -> bus.status().link().isUp());
      EventId id = publisher.publish("mch_1", Map.of(), "{\"tls\":true}");
      await().until(() -> oracle.delivered(id));
      assertThat(bus.history().since(id, dev.fanout.core.Subscription.all()).recovered())
          .isTrue();
      assertThatThrownBy(() -> RedisBus.check(URI.create("rediss://127.0.0.1:" + tlsPort)))
          .isInstanceOf(FanoutRedisException.class).hasMessageContaining("not trusted");
    } finally {
      redis.stop();
    }
  }

  @Test
  void aRedisThatRequiresClientCertificatesTakesTheKeystoreAndRefusesWithout() throws Exception {
    Path dir = Files.createTempDirectory("fanout-mtls-");
    try {
      TestCertificates.create(dir);
      Path keystore = TestCertificates.clientKeystore(dir);
      int tlsPort = RedisServer.freePort();
      RedisServer redis = RedisServer.inMemoryWith("--tls-port", Integer.toString(tlsPort),
          "--tls-cert-file", dir.resolve("server.pem").toString(),
          "--tls-key-file", dir.resolve("server.key").toString(),
          "--tls-ca-cert-file", dir.resolve("ca.pem").toString(), "--tls-auth-clients", "yes");
      redis.start();
      try {
        String base = "rediss://127.0.0.1:" + tlsPort + "?ca=" + dir.resolve("ca.pem");
        URI withCertificate = URI.create(base + "&keystore=" + keystore
            + "&keystorePassword=changeit");
        RedisBus.check(withCertificate);
        try (RedisPublisher p = RedisPublisher.create(withCertificate, RedisStream.named("m"))) {
          assertThat(p.publish("mch_1", Map.of(), "{}").seq()).isEqualTo(1);
        }
        assertThatThrownBy(() -> RedisBus.check(URI.create(base)))
            .isInstanceOf(FanoutRedisException.class).hasMessageContaining("Redis at rediss://");
        assertThatThrownBy(() -> RedisBus.check(URI.create(base + "&keystore=" + keystore
            + "&keystorePassword=wrong"))).isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("TLS options");
      } finally {
        redis.stop();
      }
    } finally {
      RedisServer.deleteTree(dir);
    }
  }

  @Test
  void anAclUserWorksOnEveryConnectionAndAWrongPasswordIsNamed() throws Exception {
    RedisServer redis = RedisServer.inMemory();
    redis.start();
    try {
      assertThat(redis.cli("ACL", "SETUSER", "feed", "on", ">s3cret", "~{acl}:*", "&acl:*",
          "+@all")).isEqualTo("OK");
      URI uri = URI.create("redis://feed:s3cret@127.0.0.1:" + redis.port());
      RedisStream stream = RedisStream.named("acl");
      try (RedisBus bus = RedisBus.builder(uri, stream).build();
          RedisPublisher publisher = RedisPublisher.create(uri, stream)) {
        Oracle oracle = new Oracle();
        bus.subscribe(oracle);
        await().atMost(Duration.ofSeconds(10)).until(() -> bus.status().link().isUp());
        EventId id = publisher.publish("mch_1", Map.of(), "{}");
        await().until(() -> oracle.delivered(id));
      }
      URI wrong = URI.create("redis://feed:nope@127.0.0.1:" + redis.port());
      assertThatThrownBy(() -> RedisBus.check(wrong)).isInstanceOf(FanoutRedisException.class)
          .hasMessageContaining("refused the credentials").hasMessageNotContaining("nope");
      // a running node reports why its link is down, and keeps retrying
      try (RedisBus bus = RedisBus.builder(wrong, RedisStream.named("acl"))
          .backoff(Duration.ofMillis(50), Duration.ofMillis(200)).build()) {
        await().atMost(Duration.ofSeconds(10)).until(() -> bus.status().downReason() != null);
        assertThat(bus.status().downReason()).contains("refused the credentials");
        assertThat(bus.status().link().isUp()).isFalse();
      }
    } finally {
      redis.stop();
    }
  }

  @Test
  void badConfigurationsGetOneLineThatSaysWhich() throws Exception {
    int nothing = RedisServer.freePort();
    assertThatThrownBy(() -> RedisBus.check(URI.create("redis://127.0.0.1:" + nothing)))
        .isInstanceOf(FanoutRedisException.class).hasMessageContaining("cannot connect");
    assertThatThrownBy(() -> RedisBus.check(
        URI.create("redis-sentinel://127.0.0.1:" + nothing + "#mymaster")))
        .isInstanceOf(FanoutRedisException.class)
        .hasMessageContaining("no sentinel named the primary 'mymaster'");
    RedisServer plain = RedisServer.inMemory(); // answers, but is no sentinel
    plain.start();
    try {
      assertThatThrownBy(() -> RedisBus.check(
          URI.create("redis-sentinel://127.0.0.1:" + plain.port() + "#other")))
          .isInstanceOf(FanoutRedisException.class).hasMessageContaining("'other'");
    } finally {
      plain.stop();
    }
    for (String bad : List.of("http://x:1", "redis-sentinel://127.0.0.1:1", "redis://h:99999",
        "redis://h:1/db", "redis://h:1?ca=x", "rediss://h:1?bogus=1")) {
      assertThatThrownBy(() -> RedisBus.check(URI.create(bad)), bad)
          .isInstanceOf(IllegalArgumentException.class);
    }
    assertThatThrownBy(() -> RedisBus.check(URI.create("redis://u:pw@h:1/x")))
        .hasMessageNotContaining("pw").hasMessageContaining("***");
  }

  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void overTlsAClusterIsReachedAtTheTlsPortsItAnnounces() throws Exception {
    try (RedisCluster cluster = RedisCluster.startTls(3, 0)) {
      URI uri = cluster.tlsUri();
      RedisBus.check(uri);
      RedisStream stream = RedisStream.named("tls").withPartitions(4);
      PartitionOracle oracle = new PartitionOracle();
      try (RedisPublisher publisher = RedisPublisher.create(uri, stream);
          ClusterNodes nodes = new ClusterNodes(RedisEndpoint.parse(uri, Duration.ofSeconds(2)),
              1);
          RedisBus bus = RedisBus.builder(uri, stream).build()) {
        for (ClusterTopology.Node primary : nodes.topology().primaries()) {
          assertThat(primary.address().getPort()).isNotIn(cluster.primaryPorts());
        }
        bus.subscribe(oracle);
        bus.need(Set.of(0, 1, 2, 3)).get(20, TimeUnit.SECONDS); // sharded Pub/Sub over TLS
        List<CompletableFuture<EventId>> futures = new ArrayList<>();
        for (int t = 0; t < 40; t++) {
          futures.add(publisher.publishAsync("mch_" + t, Map.of(), "{}"));
        }
        assertThat(futures).allMatch(f -> f.join() != null);
        await().atMost(Duration.ofSeconds(10)).until(() -> futures.stream()
            .allMatch(f -> oracle.delivered(f.join())));
        assertThat(bus.connections().keySet()).allMatch(
            primary -> !cluster.primaryPorts().contains(Integer.parseInt(
                primary.substring(primary.lastIndexOf(':') + 1))));
        EventId sync = publisher.publish("mch_1", Map.of(), "{\"tls\":true}");
        RedisPartition p = stream.partitionFor("mch_1");
        try (Jedis j = cluster.node(cluster.primaryOf(p.slot()))) {
          assertThat(j.hget(p.metaKey(), "seq")).isEqualTo(Long.toString(sync.seq()));
        }
      }
      assertThatThrownBy(() -> RedisBus.check(URI.create("rediss-cluster://127.0.0.1:"
          + cluster.tlsUri().getPort()))).isInstanceOf(FanoutRedisException.class)
          .hasMessageContaining("not trusted");
    }
  }

  @Test
  void aClusterUriGetsOneLineForEachWayItCanBeWrong() throws Exception {
    int a = RedisServer.freePort();
    int b = RedisServer.freePort();
    assertThatThrownBy(() -> RedisBus.check(URI.create("redis-cluster://127.0.0.1:" + a
        + ",127.0.0.1:" + b))).isInstanceOf(FanoutRedisException.class)
        .hasMessageContaining("cannot connect to any node of the Redis cluster")
        .hasMessageContaining("127.0.0.1:" + a).hasMessageContaining("127.0.0.1:" + b);
    RedisServer plain = RedisServer.inMemory();
    plain.start();
    try {
      assertThatThrownBy(() -> RedisBus.check(URI.create("redis-cluster://127.0.0.1:"
          + plain.port()))).isInstanceOf(FanoutRedisException.class)
          .hasMessageContaining("is not a cluster node (cluster_enabled:0)");
    } finally {
      plain.stop();
    }
    // a cluster node that no one gave slots to: cluster_state:fail
    RedisServer lonely = RedisServer.inMemoryWith("--cluster-enabled", "yes",
        "--cluster-port", Integer.toString(RedisServer.freePort()));
    lonely.start();
    try {
      assertThat(lonely.cli("CONFIG", "SET", "requirepass", "s3cret")).isEqualTo("OK");
      String base = "127.0.0.1:" + lonely.port();
      assertThatThrownBy(() -> RedisBus.check(URI.create("redis-cluster://:s3cret@" + base)))
          .isInstanceOf(FanoutRedisException.class)
          .hasMessageContaining("is down (" + base + " says cluster_state:fail)");
      assertThatThrownBy(() -> RedisBus.check(URI.create("redis-cluster://:nope@" + base)))
          .isInstanceOf(FanoutRedisException.class)
          .hasMessageContaining("refused the credentials").hasMessageNotContaining("nope");
      assertThat(lonely.cli("-a", "s3cret", "--no-auth-warning", "ACL", "SETUSER", "feed", "on",
          ">pw", "~*", "&*", "+@all", "-cluster")).isEqualTo("OK");
      assertThatThrownBy(() -> RedisBus.check(URI.create("redis-cluster://feed:pw@" + base)))
          .isInstanceOf(FanoutRedisException.class)
          .hasMessageContaining("refused CLUSTER, which fanout needs").hasMessageContaining(
              "NOPERM");
    } finally {
      lonely.stop();
    }
  }
}
