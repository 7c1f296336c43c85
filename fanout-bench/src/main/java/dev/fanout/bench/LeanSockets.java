package dev.fanout.bench;

import dev.fanout.core.internal.DaemonThreads;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * One selector thread driving many {@link LeanClient}s: the load generator's own WebSocket and
 * Server-Sent Events I/O. It is hand-rolled so that the generator costs less per frame than the
 * server it measures (the JDK's WebSocket client spent ~28 µs per frame here, more than the
 * server).
 */
final class LeanSockets implements AutoCloseable {
  private final Selector selector;
  private final Thread thread;
  private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
  /** Shared by every client of this thread: reads land here first. */
  final ByteBuffer readBuffer = ByteBuffer.allocateDirect(256 * 1024);
  /** Shared by every SSE client of this thread: a read's bytes copied to the heap, to scan. */
  final byte[] readBytes = new byte[readBuffer.capacity()];
  private volatile boolean closed;

  LeanSockets(String name) {
    try {
      selector = Selector.open();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    thread = DaemonThreads.start(name, this::loop);
  }

  /** Runs {@code task} on this thread. */
  void execute(Runnable task) {
    tasks.add(task);
    selector.wakeup();
  }

  Selector selector() {
    return selector;
  }

  private void loop() {
    while (!closed) {
      try {
        selector.select(100);
        Runnable task;
        while ((task = tasks.poll()) != null) {
          task.run();
        }
        for (SelectionKey key : selector.selectedKeys()) {
          LeanClient client = (LeanClient) key.attachment();
          if (!key.isValid()) {
            continue;
          }
          client.ready(key);
        }
        selector.selectedKeys().clear();
      } catch (IOException | RuntimeException e) {
        if (!closed) {
          System.err.println("load generator I/O thread: " + e);
        }
      }
    }
    Runnable task;
    while ((task = tasks.poll()) != null) { // the drops queued before close
      task.run();
    }
  }

  @Override
  public void close() {
    closed = true;
    selector.wakeup();
    try {
      thread.join(5000);
      selector.close();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (IOException ignored) {
      // closing anyway
    }
  }
}
