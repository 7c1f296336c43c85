package dev.fanout.bench;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The long run: the load's clients and publisher, plus churn (clients leave and come back,
 * resuming, continuously), for a long window; the server's RSS, heap, threads and open files are
 * sampled throughout, and their slopes after the warm-up reported beside the load's counts.
 */
@Command(name = "soak", mixinStandardHelpOptions = true,
    description = "Publish, churn connections (leave, come back, resume) and sample the server's "
        + "memory, threads and open files; report the slopes and what was lost.")
final class Soak extends Load {
  @Option(names = "--churn", defaultValue = "556",
      description = "connections per second that leave and come back resuming "
          + "(default ${DEFAULT-VALUE}: 1 million in 30 minutes)")
  double churn;

  @Option(names = "--metrics", description = "the server's Prometheus endpoint, for its heap "
      + "(jvm_memory_used_bytes{area=\"heap\"}), e.g. http://127.0.0.1:8180/metrics")
  URI metrics;

  @Option(names = "--sample", defaultValue = "10", description = "seconds between samples")
  int sampleSeconds;

  private final HttpClient http = HttpClient.newBuilder()
      .connectTimeout(Duration.ofSeconds(2)).build();

  /** One sample of the server. */
  record Sample(double minutes, long rssKib, long heapKib, long threads, long files,
      long connections) {}

  @Override
  public Integer call() throws Exception {
    if (serverPid == null) {
      throw new IllegalArgumentException("soak samples the server: give --server-pid");
    }
    ServerProcess server = new ServerProcess(serverPid);
    rssBeforeKib = server.rssKib();
    List<Sample> samples = new ArrayList<>();
    try (Clients all = openClients()) {
      long connectMs = all.connect();
      long start = Tally.nowMicros();
      windowStartMicros = start + TimeUnit.SECONDS.toMicros(warmup);
      windowEndMicros = windowStartMicros + TimeUnit.SECONDS.toMicros(duration);
      all.window(windowStartMicros, windowEndMicros);
      Thread publisher = startPublisher();
      all.churn(churn);
      ServerProcess.Cpu cpu0 = null;
      while (Tally.nowMicros() < windowEndMicros) {
        sleepUntil(Math.min(windowEndMicros, Tally.nowMicros()
            + TimeUnit.SECONDS.toMicros(sampleSeconds)));
        if (cpu0 == null && Tally.nowMicros() >= windowStartMicros) {
          cpu0 = server.cpu();
        }
        Sample s = new Sample((Tally.nowMicros() - start) / 60e6, server.rssKib(), heapKib(),
            status("Threads:"), openFiles(), all.churned().connections());
        samples.add(s);
        System.out.printf(Locale.ROOT, "soak %6.2f min  rss %,d KiB  heap %,d KiB  threads %d  "
            + "files %d  churned connections %,d%n", s.minutes(), s.rssKib(), s.heapKib(),
            s.threads(), s.files(), s.connections());
      }
      ServerProcess.Cpu cpu1 = server.cpu();
      all.churn(0);
      stopPublishing(publisher);
      long waitUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (all.churned().pending() > 0 && System.nanoTime() < waitUntil) {
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100)); // the last ones come back
      }
      LockSupport.parkNanos(TimeUnit.SECONDS.toNanos(3)); // their replays arrive
      Clients.Churned churned = all.churned();
      double warmMinutes = warmup / 60.0;
      List<Sample> warm = samples.stream().filter(s -> s.minutes() >= warmMinutes).toList();
      Map<String, Object> extra = new LinkedHashMap<>();
      extra.put("churn_connections", churned.connections());
      extra.put("churn_recovered", churned.recovered());
      extra.put("churn_not_recovered", churned.notRecovered());
      extra.put("churn_still_away", churned.pending());
      extra.put("rss_slope_kib_per_min", slope(warm, Sample::rssKib));
      extra.put("heap_floor_slope_kib_per_min", floorSlope(warm));
      extra.put("rss_kib_first_last", first(warm, Sample::rssKib) + " " + last(samples,
          Sample::rssKib));
      extra.put("threads_first_last", first(warm, Sample::threads) + " " + last(samples,
          Sample::threads));
      extra.put("files_first_last", first(warm, Sample::files) + " " + last(samples,
          Sample::files));
      extra.put("threads_max", warm.stream().mapToLong(Sample::threads).max().orElse(-1));
      extra.put("files_max", warm.stream().mapToLong(Sample::files).max().orElse(-1));
      report(all.seen(), connectMs, cpu0 == null ? null : cpu1.minus(cpu0), rssBeforeKib,
          extra);
    }
    return 0;
  }

  /** Least-squares slope per minute of {@code value} over the samples. */
  static double slope(List<Sample> samples, java.util.function.ToLongFunction<Sample> value) {
    int n = samples.size();
    if (n < 2) {
      return Double.NaN;
    }
    double mx = samples.stream().mapToDouble(Sample::minutes).average().orElse(0);
    double my = samples.stream().mapToLong(value).average().orElse(0);
    double num = 0;
    double den = 0;
    for (Sample s : samples) {
      num += (s.minutes() - mx) * (value.applyAsLong(s) - my);
      den += (s.minutes() - mx) * (s.minutes() - mx);
    }
    return Math.round(num / den * 10) / 10.0;
  }

  /**
   * The heap's floor: the lowest heap sample of each minute (what survives a collection), and
   * its slope per minute: the heap's own trend, not the sawtooth between collections.
   */
  static double floorSlope(List<Sample> samples) {
    Map<Long, Sample> lowest = new LinkedHashMap<>();
    for (Sample s : samples) {
      lowest.merge((long) s.minutes(), s, (a, b) -> a.heapKib() <= b.heapKib() ? a : b);
    }
    return slope(new ArrayList<>(lowest.values()), Sample::heapKib);
  }

  private static long first(List<Sample> s, java.util.function.ToLongFunction<Sample> v) {
    return s.isEmpty() ? -1 : v.applyAsLong(s.get(0));
  }

  private static long last(List<Sample> s, java.util.function.ToLongFunction<Sample> v) {
    return s.isEmpty() ? -1 : v.applyAsLong(s.get(s.size() - 1));
  }

  /** The server's heap in use, from its Prometheus endpoint; -1 without one. */
  private long heapKib() {
    if (metrics == null) {
      return -1;
    }
    try {
      String body = http.send(HttpRequest.newBuilder(metrics).timeout(Duration.ofSeconds(5))
          .build(), HttpResponse.BodyHandlers.ofString()).body();
      double bytes = 0;
      for (String line : body.split("\n")) {
        if (line.startsWith("jvm_memory_used_bytes{") && line.contains("area=\"heap\"")) {
          bytes += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
        }
      }
      return (long) (bytes / 1024);
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  private long status(String field) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc", serverPid.toString(), "status"))) {
      if (line.startsWith(field)) {
        return Long.parseLong(line.substring(field.length()).trim().split("\\s+")[0]);
      }
    }
    return -1;
  }

  private long openFiles() throws IOException {
    try (Stream<Path> fds = Files.list(Path.of("/proc", serverPid.toString(), "fd"))) {
      return fds.count();
    }
  }
}
