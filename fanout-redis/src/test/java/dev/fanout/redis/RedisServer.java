package dev.fanout.redis;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A real {@code redis-server} from PATH on a free loopback port, one per test, that a test can
 * kill (SIGKILL), pause (SIGSTOP), resume (SIGCONT) and restart, with or without persistence.
 * Never touches the shared Redis on 6379.
 *
 * <pre>{@code
 * @RegisterExtension final RedisServer redis = RedisServer.withAppendOnly();
 * }</pre>
 */
public final class RedisServer implements BeforeEachCallback, AfterEachCallback {
  private final boolean appendOnly;
  private final List<String> extraArgs;
  private final boolean tls;
  private int tlsPort;
  private Path dir;
  private int port;
  private Process process;

  private RedisServer(boolean appendOnly, boolean tls, String... extraArgs) {
    this.appendOnly = appendOnly;
    this.tls = tls;
    this.extraArgs = List.of(extraArgs);
  }

  private RedisServer(boolean appendOnly, String... extraArgs) {
    this(appendOnly, false, extraArgs);
  }

  /**
   * AOF, and TLS on a second port with a test CA made by openssl on start ({@link #tlsUri()});
   * the plain port stays open for the test's own redis-cli and oracle.
   */
  public static RedisServer withTls() {
    return new RedisServer(true, true);
  }

  /** No persistence, with more redis-server arguments (e.g. {@code --replicaof host port}). */
  public static RedisServer inMemoryWith(String... args) {
    return new RedisServer(false, args);
  }

  /** No persistence: a restart loses everything, as a cache-only Redis would. */
  public static RedisServer inMemory() {
    return new RedisServer(false);
  }

  /** AOF with fsync on every write: a restart after SIGKILL loses nothing. */
  public static RedisServer withAppendOnly() {
    return new RedisServer(true);
  }

  @Override
  public void beforeEach(ExtensionContext context) throws Exception {
    start();
  }

  @Override
  public void afterEach(ExtensionContext context) {
    stop();
  }

  public void start() throws IOException, InterruptedException {
    if (dir == null) {
      dir = Files.createTempDirectory("fanout-redis-");
      port = freePort();
      if (tls) {
        tlsPort = freePort();
        TestCertificates.create(dir);
      }
    }
    List<String> cmd = new ArrayList<>(List.of("redis-server",
        "--port", Integer.toString(port), "--bind", "127.0.0.1", "--save", "",
        "--appendonly", appendOnly ? "yes" : "no", "--appendfsync", "always",
        "--dir", dir.toString(), "--logfile", dir.resolve("redis.log").toString(),
        "--daemonize", "no"));
    cmd.addAll(extraArgs);
    if (tls) {
      cmd.addAll(List.of("--tls-port", Integer.toString(tlsPort),
          "--tls-cert-file", dir.resolve("server.pem").toString(),
          "--tls-key-file", dir.resolve("server.key").toString(),
          "--tls-ca-cert-file", dir.resolve("ca.pem").toString(), "--tls-auth-clients", "no"));
    }
    process = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(dir.resolve("stdout.log").toFile()).start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!answersPing()) {
      if (!process.isAlive()) {
        throw new IllegalStateException("redis-server exited: " + Files.readString(
            dir.resolve("stdout.log")) + Files.readString(dir.resolve("redis.log")));
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("redis-server did not answer PING within 10 s");
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5)); // poll the condition
    }
  }

  public void stop() {
    if (process != null) {
      process.destroyForcibly();
      try {
        process.waitFor(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      process = null;
    }
    if (dir != null) {
      deleteTree(dir);
      dir = null;
    }
  }

  /** SIGKILL, and wait until the process is gone. Data survives only with append-only. */
  public void kill() throws InterruptedException {
    signal("KILL");
    process.waitFor(10, TimeUnit.SECONDS);
  }

  /** Starts again on the same port and directory after {@link #kill()}. */
  public void restart() throws IOException, InterruptedException {
    start();
  }

  /** SIGSTOP: the process stops answering but every socket stays open. */
  public void pause() {
    signal("STOP");
  }

  /** SIGCONT after {@link #pause()}. */
  public void resume() {
    signal("CONT");
  }

  public int port() {
    return port;
  }

  /** The redis-server's process id (to pin it to a core, say). */
  public long pid() {
    return process.pid();
  }

  public URI uri() {
    return URI.create("redis://127.0.0.1:" + port);
  }

  /** {@code rediss://127.0.0.1:<tls port>?ca=<the test CA>}, for {@link #withTls()}. */
  public URI tlsUri() {
    return URI.create("rediss://127.0.0.1:" + tlsPort + "?ca=" + dir.resolve("ca.pem"));
  }

  /** The test CA's certificate (PEM), for {@link #withTls()}. */
  public Path caFile() {
    return dir.resolve("ca.pem");
  }

  static void deleteTree(Path dir) {
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Runs redis-cli against this server; returns its output. */
  public String cli(String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of("redis-cli", "-p", Integer.toString(port)));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes()).trim();
    p.waitFor(10, TimeUnit.SECONDS);
    return out;
  }

  private void signal(String signal) {
    try {
      Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(process.pid())).start();
      if (kill.waitFor(10, TimeUnit.SECONDS) && kill.exitValue() != 0) {
        throw new IllegalStateException("kill -" + signal + " failed");
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private boolean answersPing() {
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(1000);
      s.getOutputStream().write("PING\r\n".getBytes());
      byte[] buf = new byte[7];
      int n = s.getInputStream().read(buf);
      return n > 0 && new String(buf, 0, n).startsWith("+PONG");
    } catch (IOException e) {
      return false;
    }
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }
}
