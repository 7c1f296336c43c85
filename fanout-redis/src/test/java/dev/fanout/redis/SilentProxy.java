package dev.fanout.redis;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A TCP proxy on loopback that can go silent: it keeps every connection open but stops
 * forwarding bytes either way, as a half-open link or a black-holing network would. No error
 * reaches either side; only a read timeout or a missing answer can tell.
 */
public final class SilentProxy implements AutoCloseable {
  private final ServerSocket server;
  private final int targetPort;
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();
  private volatile boolean silent;
  private volatile boolean closed;

  public SilentProxy(int targetPort) throws IOException {
    this.targetPort = targetPort;
    this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread acceptor = new Thread(this::accept, "silent-proxy-accept");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  public URI uri() {
    return URI.create("redis://127.0.0.1:" + server.getLocalPort());
  }

  /** Stops forwarding; connections stay open. */
  public void goSilent() {
    silent = true;
  }

  /** Forwards again (bytes dropped meanwhile are gone). */
  public void restore() {
    silent = false;
  }

  private void accept() {
    while (!closed) {
      try {
        Socket client = server.accept();
        Socket upstream = new Socket(InetAddress.getLoopbackAddress(), targetPort);
        sockets.add(client);
        sockets.add(upstream);
        pump(client, upstream);
        pump(upstream, client);
      } catch (IOException e) {
        if (!closed) {
          continue;
        }
        return;
      }
    }
  }

  private void pump(Socket from, Socket to) {
    Thread t = new Thread(() -> {
      byte[] buf = new byte[16 * 1024];
      try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
        int n;
        while ((n = in.read(buf)) != -1) {
          if (!silent) {
            out.write(buf, 0, n);
            out.flush();
          }
        }
      } catch (IOException e) {
        // one side went away: close both below
      } finally {
        closeQuietly(from);
        closeQuietly(to);
      }
    }, "silent-proxy-pump");
    t.setDaemon(true);
    t.start();
  }

  private static void closeQuietly(Socket s) {
    try {
      s.close();
    } catch (IOException e) {
      // already closed
    }
  }

  @Override
  public void close() throws IOException {
    closed = true;
    server.close();
    sockets.forEach(SilentProxy::closeQuietly);
  }
}
