package dev.fanout.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** History edges: recovered exactly, or not recovered; never partial. */
class InMemoryStreamTest {
  private final InMemoryStream stream = InMemoryStream.create(10);

  private EventId publish(String topic) {
    return stream.publish(topic, Map.of(), "{}");
  }

  private static List<Long> seqs(List<Event> events) {
    return events.stream().map(e -> e.id().seq()).collect(Collectors.toList());
  }

  @Test
  void idsAreContiguousFromOneInOneEpoch() {
    EventId a = publish("t");
    EventId b = publish("t");
    assertThat(a.seq()).isEqualTo(1);
    assertThat(b).isEqualTo(a.next());
    assertThat(a.epoch()).isEqualTo(stream.epoch());
  }

  @Test
  void anEmptyStreamHasNoSnapshotAndRecoversNothing() {
    assertThat(stream.latest(50, Subscription.all())).isEmpty();
    assertThat(stream.lastId()).isNull();
    Recovery r = stream.since(EventId.of(stream.epoch(), 1), Subscription.all());
    assertThat(r.recovered()).isFalse();
    assertThat(r.reason()).isEqualTo(Recovery.Reason.UNKNOWN_ID);
  }

  @Test
  void latestReturnsTheNewestMatchingOldestFirst() {
    for (int i = 0; i < 8; i++) {
      publish(i % 2 == 0 ? "even" : "odd");
    }
    Subscription even = Subscription.builder().topics("even").build();
    assertThat(seqs(stream.latest(3, even))).containsExactly(3L, 5L, 7L);
    assertThat(seqs(stream.latest(50, Subscription.all()))).hasSize(8);
  }

  @Test
  void latestScansABoundedNumberOfEntries() {
    InMemoryStream s = InMemoryStream.create(100, 5);
    s.publish("rare", Map.of(), "{}");
    for (int i = 0; i < 10; i++) {
      s.publish("common", Map.of(), "{}");
    }
    assertThat(s.latest(50, Subscription.builder().topics("rare").build())).isEmpty();
  }

  @Test
  void sinceTheNewestIdRecoversNothingMissed() {
    publish("t");
    EventId last = publish("t");
    Recovery r = stream.since(last, Subscription.all());
    assertThat(r.recovered()).isTrue();
    assertThat(r.events()).isEmpty();
  }

  @Test
  void sinceRecoversExactlyWhatFollowsAndAppliesTheSubscription() {
    EventId first = publish("a");
    publish("b");
    publish("a");
    Recovery r = stream.since(first, Subscription.builder().topics("a").build());
    assertThat(seqs(r.events())).containsExactly(3L);
  }

  @Test
  void recoveryJustBeforeTheOldestRetainedWorksOneFurtherIsTrimmed() {
    for (int i = 0; i < 15; i++) {
      publish("t"); // retention 10: seqs 6..15 remain
    }
    String epoch = stream.epoch();
    Recovery exact = stream.since(EventId.of(epoch, 5), Subscription.all());
    assertThat(exact.recovered()).isTrue();
    assertThat(seqs(exact.events())).containsExactly(6L, 7L, 8L, 9L, 10L, 11L, 12L, 13L, 14L, 15L);

    Recovery trimmed = stream.since(EventId.of(epoch, 4), Subscription.all());
    assertThat(trimmed.recovered()).isFalse();
    assertThat(trimmed.reason()).isEqualTo(Recovery.Reason.TRIMMED);
  }

  @Test
  void idsOfAnotherEpochOrFromTheFutureAreNotRecovered() {
    publish("t");
    assertThat(stream.since(EventId.of("other", 1), Subscription.all()).reason())
        .isEqualTo(Recovery.Reason.OTHER_EPOCH);
    assertThat(stream.since(EventId.of(stream.epoch(), 2), Subscription.all()).reason())
        .isEqualTo(Recovery.Reason.UNKNOWN_ID);
  }

  @Test
  void resetStartsANewEpochAndTellsListeners() {
    EventId old = publish("t");
    List<String> told = new ArrayList<>();
    stream.subscribe(new BusListener() {
      @Override
      public void onEvent(Event event) {}

      @Override
      public void onDiscontinuity(String reason) {
        told.add(reason);
      }
    });
    stream.reset();
    EventId fresh = publish("t");
    assertThat(fresh.epoch()).isNotEqualTo(old.epoch());
    assertThat(fresh.seq()).isEqualTo(1);
    assertThat(told).hasSize(1);
    assertThat(stream.since(old, Subscription.all()).reason())
        .isEqualTo(Recovery.Reason.OTHER_EPOCH);
  }

  @Test
  void notRecoveredHasNoEvents() {
    Recovery r = Recovery.notRecovered(Recovery.Reason.TRIMMED, "x");
    assertThatThrownBy(r::events)
        .isInstanceOf(IllegalStateException.class);
  }
}
