package dev.fanout.bench;

import dev.fanout.core.Event;
import dev.fanout.core.EventFilter;
import dev.fanout.core.EventId;
import dev.fanout.core.Hub;
import dev.fanout.core.Scope;
import dev.fanout.core.Subscription;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Cost of one publish as the number of connections grows, with a fixed 10 connections matching
 * the published topic and the rest spread over {@code topics} other topics: fanout's indexed hub
 * against the naive scan-everything hub, with and without a consumer filter.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(1)
@State(org.openjdk.jmh.annotations.Scope.Benchmark)
public class HubPublishBenchmark {
  static final int MATCHING = 10;

  @Param({"1000", "15000", "100000"})
  int connections;

  @Param({"1", "100", "10000"})
  int topics;

  @Param({"false", "true"})
  boolean filter;

  private final DirectBus bus = new DirectBus();
  private Hub hub;
  private NaiveHub naive;
  private Event event;
  private long seq;

  @Setup(Level.Trial)
  public void setUp() {
    hub = Hub.builder().bus(bus).snapshotSize(0).outboxCapacity(1 << 20).build();
    naive = new NaiveHub();
    EventFilter f = e -> !e.attribute("status").equals("never");
    for (int i = 0; i < connections; i++) {
      String topic = i < MATCHING ? "hot" : "t" + (i % topics);
      Subscription s = Subscription.builder().topics(topic).filter(filter ? f : null).build();
      hub.connect(new NullTransport(), Scope.all()).subscribe(s);
      naive.add(s, new NullTransport());
    }
    event = next();
  }

  private Event next() {
    return Event.of(EventId.of("bench", ++seq), "hot",
        Map.of("method", "card", "status", "captured", "paymentId", "p1"),
        "{\"paymentId\":\"p1\",\"status\":\"captured\",\"amount\":12.50}");
  }

  @Benchmark
  public void indexedHub() {
    bus.deliver(next());
  }

  @Benchmark
  public int naiveScan() {
    return naive.publish(next());
  }
}
