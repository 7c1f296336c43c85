package dev.fanout.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fanout.core.Cursor;
import dev.fanout.core.Event;
import dev.fanout.core.EventId;
import dev.fanout.core.Recovery;
import dev.fanout.core.Subscription;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The history of a stream of several partitions, on a real redis-server: resumes from a cursor
 * all or nothing, a followed partition the cursor does not name, the recovery limit over every
 * partition, snapshots by publish time.
 */
class PartitionedHistoryIntegrationTest {
  @RegisterExtension final RedisServer redis = RedisServer.inMemory();

  private final List<AutoCloseable> closeables = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    for (int i = closeables.size() - 1; i >= 0; i--) {
      closeables.get(i).close();
    }
  }

  private <T extends AutoCloseable> T track(T c) {
    closeables.add(c);
    return c;
  }

  private RedisPublisher publisher(RedisStream stream) {
    return track(RedisPublisher.create(redis.uri(), stream));
  }

  private RedisHistory history(RedisStream stream, int maxRecovery) {
    return track(new RedisHistory(Nodes.of(RedisEndpoint.parse(redis.uri(),
        Duration.ofSeconds(2)), 2), stream, 2000, maxRecovery));
  }

  /** The first {@code n} topics mch_0, mch_1 ... of {@code partition}. */
  static List<String> topicsOf(RedisStream stream, int partition, int n) {
    List<String> out = new ArrayList<>();
    for (int t = 0; out.size() < n; t++) {
      if (stream.partitionOf("mch_" + t) == partition) {
        out.add("mch_" + t);
      }
    }
    return out;
  }

  private static List<EventId> ids(List<Event> events) {
    return events.stream().map(Event::id).toList();
  }

  @Test
  void aResumeFromACursorIsExactInEveryPartitionItFollows() {
    RedisStream stream = RedisStream.named("cursor").withPartitions(4);
    RedisPublisher publisher = publisher(stream);
    RedisHistory history = history(stream, 10_000);
    String a = topicsOf(stream, 0, 1).get(0);
    String b = topicsOf(stream, 2, 1).get(0);
    String c = topicsOf(stream, 3, 1).get(0);
    Map<String, List<EventId>> byTopic = new HashMap<>();
    for (int i = 0; i < 30; i++) {
      String topic = List.of(a, b, c).get(i % 3);
      byTopic.computeIfAbsent(topic, t -> new ArrayList<>()).add(
          publisher.publish(topic, Map.of("method", i % 2 == 0 ? "card" : "sepa"), "{}"));
    }
    assertThat(byTopic.get(b).get(0)).hasToString(byTopic.get(b).get(0).partition() + "."
        + byTopic.get(b).get(0).epoch() + ":1").extracting(EventId::partition).isEqualTo(2);
    Cursor at = Cursor.of(List.of(byTopic.get(a).get(3), byTopic.get(b).get(6),
        byTopic.get(c).get(9)));

    Recovery all = history.since(at, Subscription.all());
    assertThat(all.recovered()).isTrue();
    assertThat(ids(all.events())).containsExactlyElementsOf(concat(
        byTopic.get(a).subList(4, 10), byTopic.get(b).subList(7, 10)));

    Recovery two = history.since(at, Subscription.builder().topics(a, c).attribute("method",
        "card").build());
    assertThat(two.recovered()).isTrue();
    assertThat(two.events()).allMatch(e -> e.attribute("method").equals("card"))
        .extracting(Event::topic).containsOnly(a);
    // a cursor is read through History.since(Cursor) and through a single id alike
    assertThat(ids(history.since(byTopic.get(b).get(6), Subscription.builder().topics(b)
        .build()).events())).containsExactlyElementsOf(byTopic.get(b).subList(7, 10));
  }

  @Test
  void aResumeIsExactInAllItsPartitionsOrRecoveredInNone() {
    RedisStream stream = RedisStream.named("allornone").withPartitions(4).withRetention(20);
    RedisPublisher publisher = publisher(stream);
    RedisHistory history = history(stream, 10_000);
    String a = topicsOf(stream, 0, 1).get(0);
    String b = topicsOf(stream, 1, 1).get(0);
    EventId a1 = publisher.publish(a, Map.of(), "{}");
    EventId b1 = publisher.publish(b, Map.of(), "{}");
    for (int i = 0; i < 200; i++) { // partition 1 trims its first events, partition 0 keeps all
      publisher.publish(b, Map.of(), "{}");
    }
    publisher.publish(a, Map.of(), "{}");
    Subscription both = Subscription.builder().topics(a, b).build();
    Recovery trimmed = history.since(Cursor.of(List.of(a1, b1)), both);
    assertThat(trimmed.recovered()).isFalse();
    assertThat(trimmed.reason()).isEqualTo(Recovery.Reason.TRIMMED);
    assertThat(history.since(Cursor.of(List.of(a1, b1)), Subscription.builder().topics(a)
        .build()).events()).hasSize(1); // partition 1 is not followed: its id is not read
    EventId otherEpoch = EventId.of(0, "elsewhere", 1);
    Recovery unknown = history.since(Cursor.of(List.of(otherEpoch)), Subscription.builder()
        .topics(a).build());
    assertThat(unknown.reason()).isEqualTo(Recovery.Reason.OTHER_EPOCH);
    assertThat(history.since(EventId.of(a1.epoch(), 1), both).reason())
        .as("an id that names no partition").isEqualTo(Recovery.Reason.UNKNOWN_ID);
    assertThat(history.since(Cursor.of(EventId.of(4, a1.epoch(), 1)), both).reason())
        .as("a partition the stream does not have").isEqualTo(Recovery.Reason.UNKNOWN_ID);
  }

  @Test
  void aFollowedPartitionTheCursorDoesNotNameIsRecoveredOnlyWhenItsWholePastIsRetained() {
    RedisStream stream = RedisStream.named("whole").withPartitions(4).withRetention(20);
    RedisPublisher publisher = publisher(stream);
    RedisHistory history = history(stream, 10_000);
    String a = topicsOf(stream, 0, 1).get(0);
    String b = topicsOf(stream, 1, 1).get(0);
    String quiet = topicsOf(stream, 2, 1).get(0);
    EventId a1 = publisher.publish(a, Map.of(), "{}");
    List<EventId> bs = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      bs.add(publisher.publish(b, Map.of(), "{}"));
    }
    Cursor onlyA = Cursor.of(a1);
    // partition 1: every event retained, one epoch; partition 2: no stream at all
    Recovery whole = history.since(onlyA, Subscription.builder().topics(a, b, quiet).build());
    assertThat(whole.recovered()).isTrue();
    assertThat(ids(whole.events())).containsExactlyElementsOf(bs);
    Recovery wholeAll = history.since(onlyA, Subscription.all());
    assertThat(ids(wholeAll.events())).containsExactlyElementsOf(bs);

    // bridged once (a restart that lost nothing): the retained past is still all of it
    publisher.newEpoch(1, bs.get(0).epoch());
    bs.add(publisher.publish(b, Map.of(), "{}"));
    assertThat(bs.get(5).epoch()).isNotEqualTo(bs.get(0).epoch());
    assertThat(ids(history.since(onlyA, Subscription.builder().topics(b).build()).events()))
        .containsExactlyElementsOf(bs);
    assertThat(ids(history.since(onlyA, Subscription.all()).events()))
        .containsExactlyElementsOf(bs);

    // bridged twice: its first events are of an epoch this stream no longer names
    publisher.newEpoch(1, bs.get(5).epoch());
    publisher.publish(b, Map.of(), "{}");
    assertThat(history.since(onlyA, Subscription.builder().topics(b).build()).recovered())
        .isFalse();
    assertThat(history.since(onlyA, Subscription.all()).recovered()).isFalse();

    // trimmed: its first event is gone
    for (int i = 0; i < 100; i++) {
      publisher.publish(quiet, Map.of(), "{}");
    }
    Recovery trimmed = history.since(onlyA, Subscription.builder().topics(quiet).build());
    assertThat(trimmed.recovered()).isFalse();
    assertThat(trimmed.reason()).isEqualTo(Recovery.Reason.TRIMMED);
    assertThat(trimmed.detail()).contains("does not name partition 2");
  }

  @Test
  void moreThanTheLimitMissedOverAllPartitionsIsNotRecovered() {
    RedisStream stream = RedisStream.named("limit").withPartitions(4);
    RedisPublisher publisher = publisher(stream);
    RedisHistory history = history(stream, 10);
    String a = topicsOf(stream, 0, 1).get(0);
    String b = topicsOf(stream, 3, 1).get(0);
    EventId a0 = publisher.publish(a, Map.of(), "{}");
    EventId b0 = publisher.publish(b, Map.of(), "{}");
    for (int i = 0; i < 5; i++) {
      publisher.publish(a, Map.of(), "{}");
      publisher.publish(b, Map.of(), "{}");
    }
    Cursor at = Cursor.of(List.of(a0, b0));
    assertThat(history.since(at, Subscription.all()).events()).hasSize(10);
    assertThat(history.since(at, Subscription.builder().topics(a, b).build()).events())
        .hasSize(10);
    publisher.publish(b, Map.of(), "{}"); // 11 missed: 5 in one partition, 6 in the other
    for (Subscription s : List.of(Subscription.all(), Subscription.builder().topics(a, b)
        .build())) {
      Recovery r = history.since(at, s);
      assertThat(r.reason()).as("%s", s).isEqualTo(Recovery.Reason.TOO_MANY);
    }
    assertThat(history.recoveryLimit()).isEqualTo(10);
  }

  @Test
  void aSnapshotIsTheNewestMatchingEventsOfEveryFollowedPartitionByPublishTime() {
    RedisStream stream = RedisStream.named("snapshot").withPartitions(4);
    RedisPublisher publisher = publisher(stream);
    RedisHistory history = history(stream, 10_000);
    List<String> topics = List.of(topicsOf(stream, 0, 1).get(0), topicsOf(stream, 1, 1).get(0),
        topicsOf(stream, 3, 2).get(0), topicsOf(stream, 3, 2).get(1));
    for (int i = 0; i < 200; i++) {
      publisher.publish(topics.get(i % 4), Map.of("method", i % 3 == 0 ? "card" : "sepa"),
          "{}");
    }
    for (Subscription s : List.of(Subscription.all(), Subscription.builder().topics(topics.get(0),
        topics.get(2)).build(), Subscription.builder().attribute("method", "card").build())) {
      List<Event> snapshot = history.latest(25, s);
      List<Event> everything = new ArrayList<>();
      for (int p = 0; p < 4; p++) {
        everything.addAll(history.partition(p).latest(1000, Subscription.all()));
      }
      List<Event> matching = everything.stream().filter(s::matches).toList();
      assertThat(snapshot).as("%s", s).hasSize(25).allMatch(s::matches);
      long oldest = snapshot.get(0).publishedAtMillis();
      for (int i = 1; i < snapshot.size(); i++) {
        assertThat(snapshot.get(i).publishedAtMillis())
            .isGreaterThanOrEqualTo(snapshot.get(i - 1).publishedAtMillis());
        Event prev = snapshot.get(i - 1);
        Event e = snapshot.get(i);
        if (prev.id().partition() == e.id().partition()) {
          assertThat(e.id().seq()).isGreaterThan(prev.id().seq());
        }
      }
      List<Event> left = new ArrayList<>(matching);
      left.removeAll(snapshot);
      assertThat(left).as("what the snapshot left out is not newer").allMatch(
          e -> e.publishedAtMillis() <= oldest);
      for (int p = 0; p < 4; p++) { // and in each partition, it is that partition's newest
        int partition = p;
        List<Event> mine = snapshot.stream().filter(e -> e.id().partition() == partition)
            .toList();
        List<Event> all = matching.stream().filter(e -> e.id().partition() == partition)
            .toList();
        assertThat(mine).isEqualTo(all.subList(all.size() - mine.size(), all.size()));
      }
    }
  }

  private static List<EventId> concat(List<EventId> a, List<EventId> b) {
    List<EventId> out = new ArrayList<>(a);
    out.addAll(b);
    return out;
  }
}
