package dev.fanout.bench;

import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** fanout-bench: the load generator ({@code load}, {@code storm}) and JMH ({@code jmh}). */
@Command(name = "fanout-bench", mixinStandardHelpOptions = true,
    subcommands = {Load.class, Load.Storm.class, Soak.class, WorkerClients.Main.class,
        Floor.class, Floor.Sink.class, Bench.Jmh.class},
    description = "End-to-end load against a fanout server, and the JMH microbenchmarks.")
public final class Bench implements Runnable {
  public static void main(String[] args) {
    System.exit(new CommandLine(new Bench()).setCaseInsensitiveEnumValuesAllowed(true)
        .execute(args));
  }

  @Override
  public void run() {
    CommandLine.usage(this, System.out);
  }

  /** Runs JMH with the given arguments, e.g. {@code jmh HubPublish -p connections=1000}. */
  @Command(name = "jmh", description = "Run the JMH benchmarks (arguments go to JMH).")
  static final class Jmh implements Runnable {
    @CommandLine.Unmatched
    List<String> args = new ArrayList<>();

    @Override
    public void run() {
      try {
        org.openjdk.jmh.Main.main(args.toArray(new String[0]));
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }
  }
}
