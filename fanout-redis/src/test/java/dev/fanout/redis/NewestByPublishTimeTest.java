package dev.fanout.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fanout.core.Event;
import dev.fanout.core.EventId;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The snapshot of several partitions: their newest events by publish time, without Redis. */
class NewestByPublishTimeTest {

  private static Event at(int partition, long seq, long millis) {
    return Event.of(EventId.of(partition, "e", seq), "t", Map.of(), "{}", millis);
  }

  @Test
  void theNewestOfSeveralPartitionsComeOldestFirstByPublishTime() {
    List<Event> p0 = List.of(at(0, 1, 100), at(0, 2, 130), at(0, 3, 170));
    List<Event> p1 = List.of(at(1, 7, 110), at(1, 8, 160));
    List<Event> p2 = List.of();
    assertThat(RedisHistory.newestByPublishTime(List.of(p0, p1, p2), 3))
        .containsExactly(p0.get(1), p1.get(1), p0.get(2));
    assertThat(RedisHistory.newestByPublishTime(List.of(p0, p1, p2), 10))
        .containsExactly(p0.get(0), p1.get(0), p0.get(1), p1.get(1), p0.get(2));
  }

  @Test
  void tiesGoToTheLowerPartitionAndAPartitionsOrderSurvivesItsClock() {
    List<Event> p0 = List.of(at(0, 1, 100), at(0, 2, 100));
    // a failover to a server whose clock is behind: seq 5 after seq 4 although "earlier"
    List<Event> p1 = List.of(at(1, 4, 100), at(1, 5, 90));
    assertThat(RedisHistory.newestByPublishTime(List.of(p0, p1), 4))
        .containsExactly(p0.get(0), p0.get(1), p1.get(0), p1.get(1));
  }
}
