package dev.fanout.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;

/** What a worker process reports survives its one-line encoding, and merges by addition. */
class WorkerClientsTest {
  private static Clients.Seen seen(long received, long... latencies) {
    Histogram h = new Histogram(3);
    for (long l : latencies) {
      h.recordValue(l);
    }
    return new Clients.Seen(received, 1, 2, 3, Map.of(1013, 4L), h);
  }

  @Test
  void seenRoundTripsThroughTheWorkerLine() {
    Clients.Seen s = seen(10, 100, 200, 30_000);
    Clients.Seen back = WorkerClients.decodeSeen(WorkerClients.encodeSeen(s));

    assertThat(back.received()).isEqualTo(10);
    assertThat(back.duplicates()).isEqualTo(1);
    assertThat(back.orderViolations()).isEqualTo(2);
    assertThat(back.retries()).isEqualTo(3);
    assertThat(back.closes()).isEqualTo(Map.of(1013, 4L));
    assertThat(back.latency()).isEqualTo(s.latency());
  }

  @Test
  void twoWorkersAddUp() {
    Clients.Seen sum = seen(10, 100).plus(seen(5, 300, 500));

    assertThat(sum.received()).isEqualTo(15);
    assertThat(sum.retries()).isEqualTo(6);
    assertThat(sum.closes()).isEqualTo(Map.of(1013, 8L));
    assertThat(sum.latency().getTotalCount()).isEqualTo(3);
    assertThat(sum.latency().getMaxValue()).isBetween(499L, 501L);
  }

  @Test
  void clientsAreAssignedMerchantsRoundRobinWithOpsEveryHundredth() {
    assertThat(Clients.merchantOf(0, 20, 0.01)).isNull();
    assertThat(Clients.merchantOf(1, 20, 0.01)).isEqualTo("mch_1");
    assertThat(Clients.merchantOf(100, 20, 0.01)).isNull();
    assertThat(Clients.merchantOf(21, 20, 0)).isEqualTo("mch_1");
  }
}
