package dev.fanout.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.fanout.core.Event;
import dev.fanout.core.EventId;
import dev.fanout.core.Recovery;
import dev.fanout.core.Subscription;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The publish function and the Streams history against a real redis-server. */
class RedisHistoryIntegrationTest {
  @RegisterExtension final RedisServer redis = RedisServer.inMemory();

  private final RedisStream stream = RedisStream.named("hist").withRetention(100);
  private RedisPublisher publisher;
  private RedisHistory history;

  @AfterEach
  void close() {
    if (publisher != null) {
      publisher.close();
    }
    if (history != null) {
      history.close();
    }
  }

  private void open(RedisStream s) {
    publisher = RedisPublisher.create(redis.uri(), s);
    history = RedisHistory.create(redis.uri(), s);
  }

  private List<EventId> publish(int n, String topic) {
    List<EventId> ids = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      ids.add(publisher.publish(topic, Map.of("method", i % 2 == 0 ? "card" : "sepa",
          "paymentId", "p" + i), "{\"i\":" + i + ",\"text\":\"é ü \\\" ok\"}"));
    }
    return ids;
  }

  private static List<EventId> ids(List<Event> events) {
    return events.stream().map(Event::id).collect(Collectors.toList());
  }

  @Test
  void eventsRoundTripWithTheirAttributesAndData() {
    open(stream);
    long before = System.currentTimeMillis();
    EventId id = publisher.publish("mch_1", Map.of("method", "card", "status", "captured"),
        "{\"amount\":12.5,\"note\":\"naïve \\u2603\"}");
    assertThat(id.seq()).isEqualTo(1);
    Event e = history.latest(1, Subscription.all()).get(0);
    assertThat(e.id()).isEqualTo(id);
    assertThat(e.topic()).isEqualTo("mch_1");
    assertThat(e.attributes()).containsEntry("method", "card").containsEntry("status", "captured");
    assertThat(e.data()).isEqualTo("{\"amount\":12.5,\"note\":\"naïve \\u2603\"}");
    // stamped by Redis's clock, the same machine's here
    assertThat(e.publishedAtMillis()).isBetween(before - 1000, System.currentTimeMillis() + 1000);
    assertThat(e.attributes()).doesNotContainKey("");
  }

  @Test
  void sinceReturnsExactlyWhatFollowsFilteredBySubscription() {
    open(stream);
    List<EventId> ids = publish(20, "mch_1");
    Recovery all = history.since(ids.get(4), Subscription.all());
    assertThat(all.recovered()).isTrue();
    assertThat(ids(all.events())).isEqualTo(ids.subList(5, 20));
    Recovery cards = history.since(ids.get(4),
        Subscription.builder().attribute("method", "card").build());
    assertThat(ids(cards.events())).allMatch(id -> id.seq() % 2 == 1);
    assertThat(history.since(ids.get(19), Subscription.all()).events()).isEmpty();
  }

  @Test
  void theRecoveryEdges() {
    open(stream);
    assertThat(history.since(EventId.of("none", 1), Subscription.all()).reason())
        .isEqualTo(Recovery.Reason.UNKNOWN_ID); // empty stream
    List<EventId> ids = publish(400, "mch_1"); // retention ~100 (MAXLEN ~ trims in whole nodes)
    String epoch = ids.get(0).epoch();
    assertThat(history.since(EventId.of("other", 5), Subscription.all()).reason())
        .isEqualTo(Recovery.Reason.OTHER_EPOCH);
    assertThat(history.since(EventId.of(epoch, 401), Subscription.all()).reason())
        .isEqualTo(Recovery.Reason.UNKNOWN_ID);
    assertThat(history.since(ids.get(0), Subscription.all()).reason())
        .isEqualTo(Recovery.Reason.TRIMMED);
    long oldest = history.oldestSeq();
    assertThat(oldest).isGreaterThan(1);
    Recovery exact = history.since(EventId.of(epoch, oldest - 1), Subscription.all());
    assertThat(exact.recovered()).isTrue();
    assertThat(exact.events()).hasSize((int) (400 - oldest + 1));
    assertThat(history.since(EventId.of(epoch, oldest - 2), Subscription.all()).reason())
        .isEqualTo(Recovery.Reason.TRIMMED);
  }

  @Test
  void tooManyMissedIsNotRecovered() {
    RedisStream big = RedisStream.named("big");
    open(big);
    List<EventId> ids = publish(30, "mch_1");
    RedisHistory strict = new RedisHistory(Nodes.of(RedisEndpoint.parse(redis.uri(),
        Duration.ofSeconds(2)), 2), big, 100, 10);
    try {
      assertThat(strict.since(ids.get(0), Subscription.all()).reason())
          .isEqualTo(Recovery.Reason.TOO_MANY);
      assertThat(strict.since(ids.get(25), Subscription.all()).events()).hasSize(4);
    } finally {
      strict.close();
    }
  }

  /** 300 events round-robin over mch_0..mch_9, method card on even i. */
  private List<Event> publishOverTopics(int n) {
    List<Event> events = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      String topic = "mch_" + (i % 10);
      Map<String, String> attributes = Map.of("method", i % 2 == 0 ? "card" : "sepa");
      String data = "{\"i\":" + i + "}";
      events.add(Event.of(publisher.publish(topic, attributes, data), topic, attributes, data));
    }
    return events;
  }

  @Test
  void aResumeOfNamedTopicsReadsExactlyTheirEventsFromTheTopicStreams() {
    open(RedisStream.named("bytopic").withRetention(1000));
    List<Event> events = publishOverTopics(300);
    Subscription sub = Subscription.builder().topics("mch_3", "mch_6").attribute("method", "card")
        .build();
    EventId after = events.get(49).id();

    Recovery r = history.since(after, sub);

    List<EventId> expected = events.subList(50, 300).stream().filter(sub::matches)
        .map(Event::id).collect(Collectors.toList());
    assertThat(expected).hasSize(25); // mch_6 with card: every tenth event, 16 and 9 of them
    assertThat(r.recovered()).isTrue();
    assertThat(ids(r.events())).isEqualTo(expected);
    assertThat(r.events().get(0).data()).isEqualTo("{\"i\":56}");
    // the same answer as reading the whole stream and filtering
    Subscription wide = Subscription.builder().attribute("method", "card")
        .filter(e -> e.topic().equals("mch_3") || e.topic().equals("mch_6")).build();
    assertThat(ids(history.since(after, wide).events())).isEqualTo(expected);
    assertThat(history.since(events.get(299).id(), sub).events()).isEmpty();
  }

  @Test
  void aTopicResumeFromBelowTheRetainedFloorIsNotRecovered() {
    open(stream); // retention 100
    List<Event> events = publishOverTopics(400);
    String epoch = events.get(0).id().epoch();
    Subscription sub = Subscription.builder().topics("mch_1").build();

    assertThat(history.since(events.get(0).id(), sub).reason())
        .isEqualTo(Recovery.Reason.TRIMMED);
    // the last publish (seq 400) set the floor to 301: a client at 300 missed nothing trimmed
    Recovery atFloor = history.since(EventId.of(epoch, 300), sub);
    assertThat(atFloor.recovered()).isTrue();
    assertThat(ids(atFloor.events())).isEqualTo(events.subList(300, 400).stream()
        .filter(sub::matches).map(Event::id).collect(Collectors.toList()));
    assertThat(history.since(EventId.of(epoch, 299), sub).reason())
        .isEqualTo(Recovery.Reason.TRIMMED);
    assertThat(history.since(EventId.of("other", 350), sub).reason())
        .isEqualTo(Recovery.Reason.OTHER_EPOCH);
    assertThat(history.since(EventId.of(epoch, 401), sub).reason())
        .isEqualTo(Recovery.Reason.UNKNOWN_ID);
  }

  @Test
  void aNewEpochDropsTheTopicStreamsOfTheOldOne() throws Exception {
    open(stream);
    List<Event> old = publishOverTopics(30);
    redis.cli("DEL", stream.streamKey()); // the stream is lost: the next publish starts afresh
    EventId fresh = publisher.publish("mch_5", Map.of(), "{}");

    assertThat(fresh.epoch()).isNotEqualTo(old.get(0).id().epoch());
    assertThat(fresh.seq()).isEqualTo(1);
    assertThat(redis.cli("EXISTS", stream.topicKey("mch_1"))).isEqualTo("0");
    assertThat(redis.cli("SMEMBERS", stream.topicsKey())).isEqualTo(stream.topicKey("mch_5"));
    // seq 2 of the new epoch goes to mch_1, whose old stream reached seq 21: it was dropped
    EventId next = publisher.publish("mch_1", Map.of(), "{}");
    Recovery r = history.since(fresh, Subscription.builder().topics("mch_1", "mch_5").build());
    assertThat(ids(r.events())).containsExactly(next);
  }

  @Test
  void aSnapshotOfAQuietTopicReachesPastTheScanWindowOfTheStream() {
    open(RedisStream.named("quietsnap").withRetention(10_000));
    EventId quiet = publisher.publish("mch_quiet", Map.of("method", "card"), "{}");
    publish(2_100, "mch_busy"); // more than the 2,000 newest entries a stream snapshot scans

    assertThat(ids(history.latest(50, Subscription.builder().topics("mch_quiet").build())))
        .containsExactly(quiet);
    // every topic at once still scans the stream, bounded: the quiet event is out of reach
    assertThat(ids(history.latest(50, Subscription.builder()
        .filter(e -> e.topic().equals("mch_quiet")).build()))).isEmpty();
    // several topics: merged in id order, the newest `limit` of them
    List<Event> two = history.latest(3,
        Subscription.builder().topics("mch_quiet", "mch_busy").build());
    assertThat(two).extracting(e -> e.id().seq()).containsExactly(2_099L, 2_100L, 2_101L);
  }

  @Test
  void latestScansABoundedWindowAndKeepsOrder() {
    open(stream);
    List<EventId> ids = publish(60, "mch_1");
    publish(1, "mch_rare");
    assertThat(ids(history.latest(5, Subscription.builder().topics("mch_1").build())))
        .isEqualTo(ids.subList(55, 60));
    assertThat(history.latest(50, Subscription.builder().topics("mch_none").build())).isEmpty();
    assertThat(history.latest(0, Subscription.all())).isEmpty();
  }

  @Test
  void theFunctionIsReloadedWhenRedisForgotIt() throws Exception {
    open(stream);
    publish(1, "mch_1");
    redis.cli("FUNCTION", "FLUSH");
    EventId next = publisher.publish("mch_1", Map.of(), "{}");
    assertThat(next.seq()).isEqualTo(2);
  }

  @Test
  void theDocumentedRedisCliFormPublishes() throws Exception {
    open(stream);
    EventId first = publish(1, "mch_1").get(0);
    // docs/redis.md: FCALL fanout_publish 4 {ns}:stream {ns}:meta {ns}:topic:<topic> {ns}:topics
    //   ns:events <maxlen> <topic> <data> [name value]...
    String reply = redis.cli("FCALL", "fanout_publish", "4", stream.streamKey(), stream.metaKey(),
        stream.topicKey("mch_2"), stream.topicsKey(), stream.channel(), "100", "mch_2",
        "{\"status\":\"refunded\"}", "method", "sepa");
    assertThat(EventId.parse(reply)).isEqualTo(EventId.of(first.epoch(), 2));
    Event e = history.latest(1, Subscription.all()).get(0);
    assertThat(e.topic()).isEqualTo("mch_2");
    assertThat(e.attribute("method")).isEqualTo("sepa");
    assertThat(redis.cli("FCALL", "fanout_publish", "4", stream.streamKey(), stream.metaKey(),
        stream.topicKey(""), stream.topicsKey(), stream.channel(), "100", "", "{}"))
        .contains("topic must not be empty");
    assertThat(redis.cli("FCALL", "fanout_publish", "2", stream.streamKey(), stream.metaKey(),
        stream.channel(), "100", "mch_2", "{}")).contains("needs 4 keys");
  }

  @Test
  void badInputIsRejectedBeforeRedisIsTouched() {
    open(stream);
    assertThatThrownBy(() -> publisher.publish("", Map.of(), "{}"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> publisher.publish("t", Map.of(), ""))
        .hasMessageContaining("JSON");
    assertThatThrownBy(() -> RedisStream.named("bad name")).hasMessageContaining("namespace");
    assertThatThrownBy(() -> RedisPublisher.create(URI.create("http://x:1"), stream))
        .hasMessageContaining("redis://");
  }

  @Test
  void anUnreachableRedisIsAClearFanoutRedisException() {
    RedisPublisher nowhere = RedisPublisher.create(URI.create("redis://127.0.0.1:1"),
        stream);
    try {
      assertThatThrownBy(() -> nowhere.publish("t", Map.of(), "{}"))
          .isInstanceOf(FanoutRedisException.class).hasMessageContaining("publish to");
    } finally {
      nowhere.close();
    }
  }

  @Test
  void aTopicResumeCutAtTheBoundIsNotRecoveredEvenWhenTheFilterKeepsFewer() {
    RedisStream s = RedisStream.named("cut").withRetention(1000);
    open(s);
    EventId from = publish(1, "mch_1").get(0);
    publish(30, "mch_1"); // half of them card, half sepa
    RedisHistory strict = new RedisHistory(Nodes.of(RedisEndpoint.parse(redis.uri(),
        Duration.ofSeconds(2)), 2), s, 100, 20);
    try {
      Subscription cardOnly = Subscription.builder().topics("mch_1")
          .attribute("method", "card").build();
      // 30 missed, 15 of them card: fewer than the bound after the filter, but the read was
      // cut at 21 entries, so an answer would silently lack the tail.
      assertThat(strict.since(from, cardOnly).reason()).isEqualTo(Recovery.Reason.TOO_MANY);
    } finally {
      strict.close();
    }
  }

  @Test
  void aRestartThatLostTheTailNeverReusesItsIdsAndBridgesTheRest() throws Exception {
    RedisStream s = RedisStream.named("fence").withRetention(1000);
    open(s);
    List<EventId> kept = publish(10, "mch_1");
    redis.cli("SAVE");
    List<EventId> lost = publish(5, "mch_1"); // not in the snapshot Redis restarts from
    redis.kill();
    redis.restart();
    EventId next = await().ignoreExceptions().until(
        () -> publisher.publish("mch_1", Map.of(), "{}"), id -> id != null);
    assertThat(next.seq()).isEqualTo(11);
    assertThat(next.epoch()).isNotEqualTo(lost.get(0).epoch());
    // an id from before the loss resumes across the bridge, exactly
    Recovery across = history.since(kept.get(7), Subscription.all());
    assertThat(ids(across.events())).containsExactly(kept.get(8), kept.get(9), next);
    // an id of a lost event is never taken for a position in the new epoch
    Recovery fromLost = history.since(lost.get(2), Subscription.all());
    assertThat(fromLost.recovered()).isFalse();
    assertThat(history.since(lost.get(2), Subscription.builder().topics("mch_1").build())
        .recovered()).isFalse();
    // a snapshot still shows what survived, under the ids it always had
    assertThat(ids(history.latest(3, Subscription.all())))
        .containsExactly(kept.get(8), kept.get(9), next);
  }

  @Test
  void aPublishThatFailsValidationTakesNoSequenceNumber() throws Exception {
    open(stream);
    EventId first = publish(1, "mch_1").get(0);
    String keys = "4 " + String.join(" ", stream.streamKey(), stream.metaKey(),
        stream.topicKey("mch_1"), stream.topicsKey());
    List<String> bad = List.of(
        "FCALL fanout_publish " + keys + " " + stream.channel() + " many mch_1 {}",
        "FCALL fanout_publish " + keys + " " + stream.channel() + " 100 mch_2 {}",
        "FCALL fanout_publish " + keys + " " + stream.channel() + " 100 mch_1 }{",
        "FCALL fanout_publish " + keys + " " + stream.channel() + " 100 mch_1 NaN");
    List<String> answers = new ArrayList<>();
    for (String call : bad) {
      answers.add(redis.cli(call.split(" ")));
    }
    assertThat(answers.get(0)).contains("retention must be a whole number");
    assertThat(answers.get(1)).contains("the stream of the topic argument");
    assertThat(answers.get(2)).contains("one JSON value");
    assertThat(answers.get(3)).contains("one JSON value");
    EventId second = publish(1, "mch_1").get(0);
    assertThat(second.seq()).as("no sequence number burnt").isEqualTo(first.seq() + 1);
    assertThatThrownBy(() -> publisher.publish("mch_1", Map.of(), "{\"a\":1},\"type\":\"x\""))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("data must be one JSON value");
    assertThat(publish(1, "mch_1").get(0).seq()).isEqualTo(second.seq() + 1);
  }
}
