package dev.fanout.example;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.gson.JsonParser;
import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import dev.fanout.client.ProtocolClient;
import dev.fanout.core.EventId;
import dev.fanout.redis.RedisPublisher;
import dev.fanout.redis.RedisServer;
import dev.fanout.redis.RedisStream;
import java.io.StringReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * What enters from Redis, from everyone who can write there: a neighbour deployment on another
 * database with the same namespace, forged and malformed messages on the channel, an old
 * publisher that writes data that is not JSON, calls of the function with bad arguments. An
 * honest all-merchant client watches throughout: it receives exactly the valid events, every
 * frame parses, it is never reset, and later snapshots and resumes hold only valid events.
 */
class HostilePublisherIntegrationTest {
  @RegisterExtension final RedisServer redis = RedisServer.inMemory();

  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private final List<AutoCloseable> open = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    for (int i = open.size() - 1; i >= 0; i--) {
      open.get(i).close();
    }
  }

  private <T extends AutoCloseable> T track(T c) {
    open.add(c);
    return c;
  }

  /** What fanout_publish did before it checked anything: the "old publisher". */
  private static final String UNCHECKED_PUBLISH = String.join("\n",
      "local seq = redis.call('HINCRBY', KEYS[2], 'seq', 1)",
      "local epoch = redis.call('HGET', KEYS[2], 'epoch')",
      "redis.call('XADD', KEYS[1], seq .. '-0', 'e', epoch, 't', ARGV[2], 'd', ARGV[3])",
      "redis.call('XADD', KEYS[3], seq .. '-0', 'e', epoch, 't', ARGV[2], 'd', ARGV[3])",
      "local id = epoch .. ':' .. seq",
      "redis.call('PUBLISH', ARGV[1], #id .. ':' .. id .. #ARGV[2] .. ':' .. ARGV[2] .. #ARGV[3]"
          + " .. ':' .. ARGV[3])",
      "return id");

  @Test
  void nothingFromRedisStopsCorruptsOrLeaksIntoTheFeed() throws Exception {
    FeedServer.Config c = new FeedServer.Config();
    c.host = "127.0.0.1";
    c.port = 0;
    c.redis = URI.create("redis://127.0.0.1:" + redis.port() + "/0");
    c.generator = false;
    c.shutdownSpread = Duration.ofMillis(100);
    FeedServer node = track(FeedServer.start(c));
    RedisStream stream = RedisStream.named(c.namespace).withRetention(c.retention);
    RedisPublisher honest = track(RedisPublisher.create(c.redis, stream));
    RedisPublisher neighbour = track(RedisPublisher.create(
        URI.create("redis://127.0.0.1:" + redis.port() + "/1"), stream));
    URI ws = URI.create("ws://127.0.0.1:" + node.port() + "/ws");
    ProtocolClient watcher = track(ProtocolClient.connect(ws));
    watcher.send("{\"type\":\"subscribe\"}");
    await().until(() -> watcher.sawFrame("\"subscribed\""));

    List<String> valid = new ArrayList<>();
    valid.add(pay(honest, 0));
    EventId before = EventId.parse(valid.get(0));
    for (int i = 0; i < 20; i++) { // a neighbour deployment: same namespace, database 1
      neighbour.publish("mch_9", Map.of("method", "card"), "{\"merchantId\":\"mch_9\"}");
    }
    valid.add(pay(honest, 1));
    EventId current = EventId.parse(valid.get(1));
    // a forged message far ahead, of the current epoch
    String forged = EventId.of(current.epoch(), current.seq() + 100).toString();
    redis.cli("PUBLISH", stream.channel(), forged.length() + ":" + forged + "5:mch_12:{}");
    redis.cli("PUBLISH", stream.channel(), "garbage");
    valid.add(pay(honest, 2));
    // an old publisher writing data that is not JSON, or that would forge another frame
    for (String data : List.of("}{", "{\"a\":1},\"type\":\"subscribed\",\"recovered\":false")) {
      redis.cli("EVAL", UNCHECKED_PUBLISH, "3", stream.streamKey(), stream.metaKey(),
          stream.topicKey("mch_1"), stream.channel(), "mch_1", data);
    }
    valid.add(pay(honest, 3));
    // the function refuses bad arguments without taking a sequence number
    String keys = String.join(" ", stream.streamKey(), stream.metaKey(),
        stream.topicKey("mch_1"), stream.topicsKey());
    assertThat(redis.cli(("FCALL fanout_publish 4 " + keys + " " + stream.channel()
        + " lots mch_1 {}").split(" "))).contains("retention");
    assertThat(redis.cli(("FCALL fanout_publish 4 " + keys + " " + stream.channel()
        + " 100 mch_2 {}").split(" "))).contains("topic argument");
    for (int i = 4; i < 10; i++) {
      valid.add(pay(honest, i));
    }

    String last = valid.get(valid.size() - 1);
    await().atMost(Duration.ofSeconds(10)).until(() -> watcher.eventIds().contains(last));
    assertThat(watcher.eventIds()).as("exactly the valid events, in order").isEqualTo(valid);
    assertEveryFrameParses(watcher.texts());
    assertThat(watcher.texts().stream().filter(f -> f.contains("\"subscribed\""))).hasSize(1);
    assertThat(EventId.parse(last).seq() - EventId.parse(valid.get(2)).seq())
        .as("the refused calls took no sequence number").isEqualTo(2 + 7);

    // later snapshots and resumes hold only valid events too
    ProtocolClient fresh = track(ProtocolClient.connect(ws));
    fresh.send("{\"type\":\"subscribe\"}");
    await().until(() -> fresh.eventIds().contains(last));
    assertThat(fresh.eventIds()).isEqualTo(valid);
    assertEveryFrameParses(fresh.texts());
    ProtocolClient resumed = track(ProtocolClient.connect(ws));
    resumed.send("{\"type\":\"subscribe\",\"lastEventId\":\"" + before + "\"}");
    await().until(() -> resumed.eventIds().contains(last));
    assertThat(resumed.texts().get(0)).contains("\"recovered\":true", "\"missed\":9");
    assertThat(resumed.eventIds()).isEqualTo(valid.subList(1, valid.size()));

    String health = get(node, "/health");
    assertThat(health).contains("\"status\":\"UP\"", "\"redis\":\"UP\"");
    String metrics = get(node, "/metrics");
    assertThat(metric(metrics, "fanout_redis_stray_messages_total")).isGreaterThanOrEqualTo(22);
    assertThat(metric(metrics, "fanout_events_invalid_total")).isGreaterThanOrEqualTo(2);
  }

  private static String pay(RedisPublisher p, int i) {
    return p.publish("mch_" + (i % 3), Map.of("method", "card"),
        "{\"merchantId\":\"mch_" + (i % 3) + "\",\"i\":" + i + "}").toString();
  }

  private static void assertEveryFrameParses(List<String> frames) throws Exception {
    for (String f : frames) {
      JsonReader reader = new JsonReader(new StringReader(f));
      reader.setStrictness(Strictness.STRICT);
      assertThat(JsonParser.parseReader(reader).isJsonObject()).as(f).isTrue();
      assertThat(reader.peek()).as(f).isEqualTo(JsonToken.END_DOCUMENT);
    }
  }

  private static String get(FeedServer s, String path) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port() + path))
        .build(), HttpResponse.BodyHandlers.ofString()).body();
  }

  private static double metric(String scrape, String series) {
    for (String line : scrape.split("\n")) {
      if (line.startsWith(series + " ") || line.startsWith(series + "{")) {
        return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    throw new AssertionError("no " + series + " in /metrics");
  }
}
