package dev.fanout.example;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A load balancer in front of nodes, as far as a client can tell: one loopback address that
 * forwards each TCP connection to the first node that accepts it, in order, byte for byte. When
 * that node dies its connections end, and the client's reconnect lands on the next node.
 */
final class Front implements AutoCloseable {
  private final ServerSocket server;
  private final List<Integer> ports;
  private final Set<Socket> open = ConcurrentHashMap.newKeySet();
  private final AtomicInteger accepted = new AtomicInteger();

  Front(List<Integer> ports) throws IOException {
    this.ports = List.copyOf(ports);
    server = new ServerSocket(0, 200, InetAddress.getLoopbackAddress());
    Thread t = new Thread(this::accept, "front-accept");
    t.setDaemon(true);
    t.start();
  }

  int port() {
    return server.getLocalPort();
  }

  /** How many TCP connections clients opened to it, whatever their library does inside. */
  int accepted() {
    return accepted.get();
  }

  private void accept() {
    while (!server.isClosed()) {
      try {
        Socket client = server.accept();
        accepted.incrementAndGet();
        Socket node = connect();
        if (node == null) {
          client.close(); // no node: the client sees the connection fail, and retries
          continue;
        }
        open.add(client);
        open.add(node);
        pump(client, node);
        pump(node, client);
      } catch (IOException e) {
        // closed, or one connection failed: the next
      }
    }
  }

  private Socket connect() {
    for (int port : ports) {
      Socket s = new Socket();
      try {
        s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1000);
        return s;
      } catch (IOException refused) {
        closeQuietly(s);
      }
    }
    return null;
  }

  private void pump(Socket from, Socket to) {
    Thread t = new Thread(() -> {
      byte[] buf = new byte[16384];
      try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
        int n;
        while ((n = in.read(buf)) >= 0) {
          out.write(buf, 0, n);
          out.flush();
        }
      } catch (IOException e) {
        // one side is gone: both are
      } finally {
        closeQuietly(from);
        closeQuietly(to);
      }
    }, "front-pump");
    t.setDaemon(true);
    t.start();
  }

  private void closeQuietly(Socket s) {
    open.remove(s);
    try {
      s.close();
    } catch (IOException e) {
      // already closed
    }
  }

  @Override
  public void close() throws IOException {
    server.close();
    open.forEach(this::closeQuietly);
  }
}
