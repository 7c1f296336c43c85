package dev.fanout.core.internal;

import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The one thread factory of fanout: daemon threads (a forgotten pool never keeps the JVM alive)
 * named {@code <name>-<n>}, so a thread dump says whose each thread is. Not public API.
 */
public final class DaemonThreads implements ThreadFactory {
  private final String name;
  private final AtomicInteger count = new AtomicInteger();

  private DaemonThreads(String name) {
    this.name = name;
  }

  /** Threads named {@code name-1}, {@code name-2}... */
  public static ThreadFactory named(String name) {
    return new DaemonThreads(name);
  }

  /** One started daemon thread named {@code name} running {@code task}. */
  public static Thread start(String name, Runnable task) {
    Thread t = unstarted(name, task);
    t.start();
    return t;
  }

  /** One daemon thread named {@code name} running {@code task}, for its owner to start. */
  public static Thread unstarted(String name, Runnable task) {
    Thread t = new Thread(task, name);
    t.setDaemon(true);
    return t;
  }

  @Override
  public Thread newThread(Runnable r) {
    Thread t = new Thread(r, name + "-" + count.incrementAndGet());
    t.setDaemon(true);
    return t;
  }
}
