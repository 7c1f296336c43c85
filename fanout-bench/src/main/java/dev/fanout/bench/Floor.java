package dev.fanout.bench;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The floor under any WebSocket server on this machine: the CPU one process spends to write
 * small messages to C loopback TCP connections as a fan-out does (R events/s, each written to the
 * next N connections in turn), with no WebSocket, JSON or routing at all. The peer
 * ({@code floor-sink}, another process) reads and discards. A
 * server's CPU per delivery cannot go below this while each delivery is its own write.
 */
@Command(name = "floor", mixinStandardHelpOptions = true,
    description = "CPU per raw loopback TCP write of one small message (no WebSocket), C sockets.")
final class Floor implements Callable<Integer> {
  @Option(names = "--sink", defaultValue = "127.0.0.1:9190", description = "floor-sink address")
  String sink;

  @Option(names = {"-c", "--connections"}, defaultValue = "2000")
  int connections;

  @Option(names = {"-r", "--rate"}, defaultValue = "200", description = "events per second")
  int rate;

  @Option(names = {"-n", "--recipients"}, defaultValue = "100", description = "writes per event")
  int recipients;

  @Option(names = "--bytes", defaultValue = "200", description = "bytes per write")
  int bytes;

  @Option(names = "--warmup", defaultValue = "5", description = "seconds before measuring")
  int warmup;

  @Option(names = "--duration", defaultValue = "20", description = "seconds measured")
  int duration;

  @Override
  public Integer call() throws Exception {
    String[] hp = sink.split(":");
    InetSocketAddress at = new InetSocketAddress(hp[0], Integer.parseInt(hp[1]));
    List<SocketChannel> sockets = new ArrayList<>();
    for (int i = 0; i < connections; i++) {
      SocketChannel s = SocketChannel.open(at);
      s.setOption(StandardSocketOptions.TCP_NODELAY, true); // as WebSocket servers set it
      sockets.add(s);
    }
    ServerProcess self = new ServerProcess(ProcessHandle.current().pid());
    ByteBuffer message = ByteBuffer.allocateDirect(bytes);
    long period = TimeUnit.SECONDS.toNanos(1) / rate;
    long start = System.nanoTime();
    long measureFrom = start + TimeUnit.SECONDS.toNanos(warmup);
    long end = measureFrom + TimeUnit.SECONDS.toNanos(duration);
    ServerProcess.Cpu before = null;
    long writes = 0;
    long next = start;
    for (int i = 0; ; ) {
      long now = System.nanoTime();
      if (before == null && now >= measureFrom) {
        before = self.cpu();
        writes = 0;
      }
      if (now >= end) {
        break;
      }
      for (int k = 0; k < recipients; k++, i++) {
        message.clear();
        sockets.get(i % connections).write(message);
      }
      writes += recipients;
      next += period;
      long wait = next - System.nanoTime();
      if (wait > 0) {
        LockSupport.parkNanos(wait);
      }
    }
    ServerProcess.Cpu used = self.cpu().minus(before);
    System.out.printf(Locale.ROOT, "connections %d, %d events/s to %d each, %d bytes, %d s:%n"
            + "  CPU per write %.2f µs (user %.2f, system %.2f)%n",
        connections, rate, recipients, bytes, duration, used.total() * 1e6 / writes,
        used.user() * 1e6 / writes, used.system() * 1e6 / writes);
    for (SocketChannel s : sockets) {
      s.close();
    }
    return 0;
  }

  /** Accepts connections and reads and discards everything, until killed. */
  @Command(name = "floor-sink", mixinStandardHelpOptions = true,
      description = "The reading side of 'floor': accept, read, discard.")
  static final class Sink implements Callable<Integer> {
    @Option(names = "--port", defaultValue = "9190")
    int port;

    @Override
    public Integer call() throws IOException {
      try (Selector selector = Selector.open();
          ServerSocketChannel server = ServerSocketChannel.open()) {
        server.bind(new InetSocketAddress("127.0.0.1", port), 4096);
        server.configureBlocking(false);
        server.register(selector, SelectionKey.OP_ACCEPT);
        ByteBuffer sink = ByteBuffer.allocateDirect(64 * 1024);
        while (true) {
          selector.select();
          for (SelectionKey key : selector.selectedKeys()) {
            if (key.isAcceptable()) {
              SocketChannel s = server.accept();
              if (s != null) {
                s.configureBlocking(false);
                s.register(selector, SelectionKey.OP_READ);
              }
            } else if (key.isReadable()) {
              sink.clear();
              if (((SocketChannel) key.channel()).read(sink) < 0) {
                key.cancel();
                key.channel().close();
              }
            }
          }
          selector.selectedKeys().clear();
        }
      }
    }
  }
}
