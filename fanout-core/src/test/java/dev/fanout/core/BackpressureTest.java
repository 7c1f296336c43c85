package dev.fanout.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** Each policy against a client that stopped reading (a stalled transport). */
class BackpressureTest {
  private static final int CAPACITY = 8;
  private static final Pattern DROPPED =
      Pattern.compile("\\{\"type\":\"dropped\",\"count\":(\\d+)}");

  private final InMemoryStream stream = InMemoryStream.create();
  private final RecordingMetrics metrics = new RecordingMetrics();
  private final InMemoryTransport slow = new InMemoryTransport();
  private final InMemoryTransport fast = new InMemoryTransport();

  private Connection connectStalled(Backpressure policy) {
    Hub hub = Hub.builder().bus(stream).history(stream).metrics(metrics)
        .outboxCapacity(CAPACITY).watermarks(2, 6).build();
    Connection c = hub.connect(slow, Scope.all(), policy);
    c.subscribe(Subscription.all());
    hub.connect(fast, Scope.all(), policy).subscribe(Subscription.all());
    slow.stall();
    return c;
  }

  private List<EventId> publish(int n, int keys) {
    List<EventId> ids = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      ids.add(stream.publish("m1", Map.of("paymentId", "p" + (i % keys), "i", "" + i),
          "{\"i\":" + i + "}"));
    }
    return ids;
  }

  private static List<String> strings(List<EventId> ids) {
    return ids.stream().map(EventId::toString).collect(Collectors.toList());
  }

  private long reportedDrops() {
    long sum = 0;
    for (String f : slow.frames()) {
      Matcher m = DROPPED.matcher(f);
      if (m.matches()) {
        sum += Long.parseLong(m.group(1));
      }
    }
    return sum;
  }

  @Test
  void dropNewestKeepsTheOldestAndCountsTheRest() {
    Connection c = connectStalled(Backpressure.dropNewest());
    List<EventId> ids = publish(100, 100);

    assertThat(c.queueSize()).isEqualTo(CAPACITY);
    slow.resume();

    // the first event went in flight before the stall bit, then CAPACITY queued; the rest dropped
    assertThat(slow.eventIds()).isEqualTo(strings(ids.subList(0, 1 + CAPACITY)));
    assertThat(c.droppedTotal()).isEqualTo(100 - 1 - CAPACITY);
    assertThat(reportedDrops()).isEqualTo(100 - 1 - CAPACITY);
    assertThat(metrics.get("dropped.drop_newest")).isEqualTo(100 - 1 - CAPACITY);
    assertThat(fast.eventIds()).isEqualTo(strings(ids));
  }

  @Test
  void dropOldestKeepsTheNewest() {
    Connection c = connectStalled(Backpressure.dropOldest());
    List<EventId> ids = publish(100, 100);

    assertThat(c.queueSize()).isEqualTo(CAPACITY);
    slow.resume();

    List<String> expected = new ArrayList<>(strings(ids.subList(0, 1)));
    expected.addAll(strings(ids.subList(100 - CAPACITY, 100)));
    assertThat(slow.eventIds()).isEqualTo(expected);
    assertThat(reportedDrops()).isEqualTo(100 - 1 - CAPACITY);
    assertThat(fast.eventIds()).isEqualTo(strings(ids));
  }

  @Test
  void theDroppedNoticeComesBeforeTheNextEvents() {
    connectStalled(Backpressure.dropOldest());
    publish(20, 20);
    slow.resume();
    List<String> frames = slow.frames();
    // subscribed, the event in flight at the stall, then the notice, then the survivors
    assertThat(frames.get(2)).isEqualTo("{\"type\":\"dropped\",\"count\":11}");
    assertThat(frames.get(3)).startsWith("{\"type\":\"batch\",\"events\":[");
  }

  @Test
  void disconnectClosesTheSlowClientAndSparesTheOthers() {
    Connection c = connectStalled(Backpressure.disconnect());
    List<EventId> ids = publish(50, 50);

    assertThat(slow.closeCode()).isEqualTo(1013);
    assertThat(slow.closeReason()).isEqualTo("outbox full");
    assertThat(c.isOpen()).isFalse();
    assertThat(c.queueSize()).isZero();
    assertThat(fast.eventIds()).isEqualTo(strings(ids));
    assertThat(metrics.get("dropped.disconnect")).isEqualTo(CAPACITY + 1);
  }

  @Test
  void disconnectWithACustomCode() {
    connectStalled(Backpressure.disconnect(1008, "too slow"));
    publish(50, 50);
    assertThat(slow.closeCode()).isEqualTo(1008);
    assertThat(slow.closeReason()).isEqualTo("too slow");
  }

  @Test
  void conflateEndsOnTheLatestStateOfEveryKey() {
    Connection c = connectStalled(Backpressure.conflate(e -> e.attribute("paymentId")));
    List<EventId> ids = publish(200, 5);

    assertThat(c.queueSize()).isLessThanOrEqualTo(CAPACITY);
    slow.resume();

    // the last event of each of the 5 payments must be delivered, and ids must still rise
    List<String> got = slow.eventIds();
    Map<String, String> lastPerKey = new LinkedHashMap<>();
    for (int i = 0; i < ids.size(); i++) {
      lastPerKey.put("p" + (i % 5), ids.get(i).toString());
    }
    assertThat(got).containsAll(lastPerKey.values());
    assertThat(got).isSorted();
    assertThat(got).doesNotHaveDuplicates();
    assertThat(reportedDrops()).isEqualTo(200 - got.size());
  }

  @Test
  void conflateFallsBackToDroppingTheOldestWhenEveryKeyIsDistinct() {
    Connection c = connectStalled(Backpressure.conflate(e -> e.attribute("paymentId")));
    List<EventId> ids = publish(30, 1000);
    assertThat(c.queueSize()).isEqualTo(CAPACITY);
    slow.resume();
    assertThat(slow.eventIds())
        .endsWith(strings(ids.subList(30 - CAPACITY, 30)).toArray(new String[0]));
  }

  @Test
  void aCustomPolicyThatThrowsOrMakesNoRoomStillHoldsTheCap() {
    Backpressure broken = new Backpressure() {
      @Override
      public void onOverflow(Overflow overflow) {
        if (overflow.incoming().id().seq() % 2 == 0) {
          throw new IllegalStateException("policy bug");
        }
      }

      @Override
      public String name() {
        return "broken";
      }
    };
    Connection c = connectStalled(broken);
    publish(100, 100);
    assertThat(c.queueSize()).isEqualTo(CAPACITY);
    assertThat(metrics.get("dropped.broken")).isEqualTo(100 - 1 - CAPACITY);
    assertThat(c.isOpen()).isTrue();
  }

  @Test
  void watermarksFlipOnceEachWay() {
    connectStalled(Backpressure.dropNewest());
    publish(50, 50);
    assertThat(metrics.get("high")).isEqualTo(1);
    assertThat(metrics.get("low")).isZero();
    slow.resume();
    assertThat(metrics.get("high")).isEqualTo(1);
    assertThat(metrics.get("low")).isEqualTo(1);
  }

  @Test
  void aConnectionClosedAboveTheHighWatermarkIsNoLongerCountedAboveIt() {
    Connection c = connectStalled(Backpressure.disconnect());
    publish(CAPACITY + 2, 100); // one in flight, past high, then past the cap: closed with 1013
    assertThat(c.isOpen()).isFalse();
    assertThat(metrics.get("high")).isEqualTo(1);
    assertThat(metrics.get("low")).isEqualTo(1);
  }

  @Test
  void aResumeLargerThanTheCapIsNotThrownOutByItsOwnBacklog() {
    Hub hub = Hub.builder().bus(stream).history(stream).outboxCapacity(CAPACITY)
        .backpressure(Backpressure.disconnect()).build();
    EventId from = stream.publish("m1", Map.of(), "{}");
    List<EventId> missed = publish(5 * CAPACITY, 1000);
    Connection c = hub.connect(slow, Scope.all());
    slow.stall();
    c.subscribe(Subscription.all(), from); // 40 events of history queued behind one in flight
    List<EventId> live = publish(CAPACITY - 1, 1000); // room for a cap's worth on top
    assertThat(c.isOpen()).isTrue();
    slow.resume();
    List<String> expected = strings(missed);
    expected.addAll(strings(live));
    assertThat(slow.eventIds()).isEqualTo(expected);

    slow.stall();
    publish(3 * CAPACITY, 1000); // a client that really cannot keep up still goes
    assertThat(slow.closeCode()).isEqualTo(1013);
  }

  @Test
  void memoryStaysBoundedUnderALongStall() {
    Connection c = connectStalled(Backpressure.dropOldest());
    publish(5_000, 5_000);
    assertThat(c.queueSize()).isEqualTo(CAPACITY);
    assertThat(slow.pendingSends()).isEqualTo(1);
    assertThat(slow.frames()).hasSize(2); // subscribed + the one in flight: nothing else left
  }
}
