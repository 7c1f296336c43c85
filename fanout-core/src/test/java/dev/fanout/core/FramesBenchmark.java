package dev.fanout.core;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Encoding an event frame once, and joining 64 encoded frames into a batch. Lives in the core's
 * tests, beside the package-private {@code Frames} it measures; docs/benchmarks.md runs it.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(1)
@State(org.openjdk.jmh.annotations.Scope.Benchmark)
public class FramesBenchmark {
  private Event event;
  private final List<String> frames = new ArrayList<>();

  @Setup
  public void setUp() {
    event = Event.of(EventId.of("k7Qm2x", 1042), "mch_1", Map.of("method", "card"),
        "{\"paymentId\":\"pay_000123\",\"merchantId\":\"mch_01\",\"method\":\"card\","
            + "\"status\":\"captured\",\"amount\":312.16,\"currency\":\"EUR\"}");
    for (int i = 0; i < 64; i++) {
      frames.add(Frames.event(event));
    }
  }

  @Benchmark
  public String eventFrame() {
    return Frames.event(event);
  }

  @Benchmark
  public String batchOf64() {
    return Frames.batch(frames);
  }
}
