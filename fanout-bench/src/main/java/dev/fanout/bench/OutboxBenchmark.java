package dev.fanout.bench;

import dev.fanout.core.Backpressure;
import dev.fanout.core.Event;
import dev.fanout.core.EventId;
import dev.fanout.core.Hub;
import dev.fanout.core.Scope;
import dev.fanout.core.Subscription;
import dev.fanout.core.Transport;
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
 * One connection's outbox: an event offered and drained through a socket that keeps up
 * ("flowing"), and an event offered to a full outbox whose socket has stalled, where the policy
 * acts on every offer ("stalled").
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(1)
@State(org.openjdk.jmh.annotations.Scope.Benchmark)
public class OutboxBenchmark {
  @Param({"drop_newest", "drop_oldest", "conflate"})
  String policy;

  private final DirectBus flowing = new DirectBus();
  private final DirectBus stalled = new DirectBus();
  private long seq;

  /** Never completes a send: the client stopped reading. */
  static final class StalledTransport implements Transport {
    @Override
    public void send(String frame, SendCallback done) {}

    @Override
    public void close(int code, String reason) {}
  }

  @Setup(Level.Trial)
  public void setUp() {
    Backpressure p = switch (policy) {
      case "drop_newest" -> Backpressure.dropNewest();
      case "drop_oldest" -> Backpressure.dropOldest();
      default -> Backpressure.conflate(e -> e.attribute("paymentId"));
    };
    Hub.builder().bus(flowing).snapshotSize(0).backpressure(p).build()
        .connect(new NullTransport(), Scope.all()).subscribe(Subscription.all());
    Hub.builder().bus(stalled).snapshotSize(0).backpressure(p).outboxCapacity(1024).build()
        .connect(new StalledTransport(), Scope.all()).subscribe(Subscription.all());
    for (int i = 0; i < 2048; i++) {
      stalled.deliver(next());
    }
  }

  private Event next() {
    long n = ++seq;
    return Event.of(EventId.of("bench", n), "mch_1",
        Map.of("paymentId", "p" + (n % 500), "status", "captured"),
        "{\"paymentId\":\"p1\",\"status\":\"captured\",\"amount\":12.50}");
  }

  @Benchmark
  public void flowing() {
    flowing.deliver(next());
  }

  @Benchmark
  public void stalled() {
    stalled.deliver(next());
  }
}
