package dev.fanout.bench;

import com.google.gson.Gson;
import com.google.gson.reflect.TypeToken;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.function.BinaryOperator;
import java.util.function.Function;
import java.util.zip.DataFormatException;
import org.HdrHistogram.Histogram;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The clients of a run spread over worker processes (this jar's {@code load-worker}), each holding
 * a contiguous range of client indices. Commands go to every worker at once as lines on its
 * stdin; each answers with one line starting {@value #ANSWER} on its stdout (its other output goes
 * to stderr). Workers inherit this process's CPU affinity, so {@code taskset} still applies.
 */
final class WorkerClients implements Clients {
  static final String ANSWER = "@ ";
  private static final Gson GSON = new Gson();

  private final List<Worker> workers = new ArrayList<>();

  WorkerClients(int processes, URI url, int clients, int merchants, double ops, int ioThreads,
      Mode mode) throws IOException {
    String java = ProcessHandle.current().info().command().orElse("java");
    String jar;
    try {
      jar = Path.of(Bench.class.getProtectionDomain().getCodeSource().getLocation().toURI())
          .toString();
    } catch (URISyntaxException e) {
      throw new IOException(e);
    }
    for (int w = 0; w < processes; w++) {
      int from = (int) ((long) clients * w / processes);
      int to = (int) ((long) clients * (w + 1) / processes);
      Process p = new ProcessBuilder(java, "-cp", jar, Bench.class.getName(), "load-worker",
          "--url", url.toString(), "--from", Integer.toString(from), "--to", Integer.toString(to),
          "--merchants", Integer.toString(merchants), "--ops", Double.toString(ops),
          "--io-threads", Integer.toString(ioThreads), "--plain=" + mode.plain(),
          "--reconnect=" + mode.reconnect(), "--transport=" + mode.transport())
          .redirectError(ProcessBuilder.Redirect.INHERIT)
          .start();
      workers.add(new Worker(p));
    }
  }

  @Override
  public long connect() throws IOException {
    long t0 = System.nanoTime();
    ask("connect", a -> a, (x, y) -> x);
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
  }

  @Override
  public void window(long startMicros, long endMicros) throws IOException {
    ask("window " + startMicros + " " + endMicros, a -> a, (x, y) -> x);
  }

  @Override
  public StormResult storm(int jitterMs) throws IOException {
    return ask("storm " + jitterMs, a -> {
      String[] f = a.split(" ");
      return new StormResult(Long.parseLong(f[0]), Long.parseLong(f[1]), Long.parseLong(f[2]));
    }, StormResult::plus);
  }

  @Override
  public Seen seen() throws IOException {
    return ask("seen", WorkerClients::decodeSeen, Seen::plus);
  }

  @Override
  public void close() {
    for (Worker w : workers) {
      w.process.destroy();
    }
    for (Worker w : workers) {
      try {
        if (!w.process.waitFor(10, TimeUnit.SECONDS)) {
          w.process.destroyForcibly();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        w.process.destroyForcibly();
      }
    }
  }

  @Override
  public void churn(double perSecond) throws IOException {
    ask("churn " + perSecond / workers.size(), a -> a, (x, y) -> x);
  }

  @Override
  public Churned churned() throws IOException {
    return ask("churned", a -> {
      String[] f = a.split(" ");
      return new Churned(Long.parseLong(f[0]), Long.parseLong(f[1]), Long.parseLong(f[2]),
          Long.parseLong(f[3]));
    }, Churned::plus);
  }

  /** Sends the command to every worker, then reads and combines their answers. */
  private <T> T ask(String command, Function<String, T> parse, BinaryOperator<T> combine)
      throws IOException {
    for (Worker w : workers) {
      w.in.write(command + "\n");
      w.in.flush();
    }
    T result = null;
    for (Worker w : workers) {
      T one = parse.apply(w.answer(command));
      result = result == null ? one : combine.apply(result, one);
    }
    return result;
  }

  static String encodeSeen(Seen s) {
    ByteBuffer buf = ByteBuffer.allocate(s.latency().getNeededByteBufferCapacity());
    int n = s.latency().encodeIntoCompressedByteBuffer(buf);
    return s.received() + " " + s.duplicates() + " " + s.orderViolations() + " " + s.retries() + " "
        + Base64.getEncoder().encodeToString(
            GSON.toJson(s.closes()).getBytes(StandardCharsets.UTF_8))
        + " " + Base64.getEncoder().encodeToString(Arrays.copyOf(buf.array(), n));
  }

  static Seen decodeSeen(String a) {
    String[] f = a.split(" ");
    Map<Integer, Long> closes = GSON.fromJson(
        new String(Base64.getDecoder().decode(f[4]), StandardCharsets.UTF_8),
        new TypeToken<Map<Integer, Long>>() {}.getType());
    try {
      Histogram h = Histogram.decodeFromCompressedByteBuffer(
          ByteBuffer.wrap(Base64.getDecoder().decode(f[5])), 0);
      return new Seen(Long.parseLong(f[0]), Long.parseLong(f[1]), Long.parseLong(f[2]),
          Long.parseLong(f[3]), closes, h);
    } catch (DataFormatException e) {
      throw new IllegalStateException("a worker sent an unreadable histogram", e);
    }
  }

  private static final class Worker {
    final Process process;
    final Writer in;
    final BufferedReader out;

    Worker(Process process) {
      this.process = process;
      this.in = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
      this.out = new BufferedReader(
          new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    }

    String answer(String command) throws IOException {
      String line;
      while ((line = out.readLine()) != null) {
        if (line.startsWith(ANSWER)) {
          return line.substring(ANSWER.length());
        }
        System.err.println("[worker " + process.pid() + "] " + line);
      }
      throw new IOException("worker " + process.pid() + " ended before answering '" + command
          + "' (its stderr is above)");
    }
  }

  /** One worker process: holds its clients and answers the coordinator's commands. */
  @Command(name = "load-worker", hidden = true,
      description = "A worker process of 'load --workers N' (commands on stdin).")
  static final class Main implements Callable<Integer> {
    @Option(names = "--url", required = true)
    URI url;

    @Option(names = "--from", required = true)
    int from;

    @Option(names = "--to", required = true)
    int to;

    @Option(names = "--merchants", required = true)
    int merchants;

    @Option(names = "--ops", defaultValue = "0")
    double ops;

    @Option(names = "--io-threads", defaultValue = "2")
    int ioThreads;

    @Option(names = "--plain", arity = "1", defaultValue = "false")
    boolean plain;

    @Option(names = "--reconnect", arity = "1", defaultValue = "true")
    boolean reconnect;

    @Option(names = "--transport", defaultValue = "WEBSOCKET")
    Transport transport;

    @Override
    public Integer call() throws Exception {
      BufferedReader commands = new BufferedReader(
          new InputStreamReader(System.in, StandardCharsets.UTF_8));
      try (LocalClients clients = new LocalClients(url, from, to, merchants, ops, ioThreads,
          new Mode(plain, reconnect, transport))) {
        String line;
        while ((line = commands.readLine()) != null) {
          String[] f = line.split(" ");
          String answer;
          switch (f[0]) {
            case "connect":
              answer = Long.toString(clients.connect());
              break;
            case "window":
              clients.window(Long.parseLong(f[1]), Long.parseLong(f[2]));
              answer = "ok";
              break;
            case "storm": {
              StormResult r = clients.storm(Integer.parseInt(f[1]));
              answer = r.allBackMs() + " " + r.recovered() + " " + r.noResumePoint();
              break;
            }
            case "churn":
              clients.churn(Double.parseDouble(f[1]));
              answer = "ok";
              break;
            case "churned": {
              Churned c = clients.churned();
              answer = c.connections() + " " + c.recovered() + " " + c.notRecovered() + " "
                  + c.pending();
              break;
            }
            case "seen":
              answer = encodeSeen(clients.seen());
              break;
            default:
              throw new IllegalArgumentException("unknown command '" + line + "'");
          }
          System.out.println(ANSWER + answer);
          System.out.flush();
        }
      }
      return 0; // stdin closed: the coordinator is gone
    }
  }
}
