package dev.fanout.core;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A {@link Transport} without a socket, shipped in main code (like Netty's EmbeddedChannel) so
 * hubs, outboxes and backpressure policies can be tested, and embedders can test their own
 * wiring, without a network.
 *
 * <p>It records every frame it is asked to send. By default each send completes at once; after
 * {@link #stall()} sends stay pending (a client that stopped reading) until {@link
 * #completeNext()} or {@link #resume()}. Thread-safe.
 */
public final class InMemoryTransport implements Transport {
  private static final Pattern EVENT_ID =
      Pattern.compile("\\{\"type\":\"event\",\"id\":\"((?:[0-9]+\\.)?[A-Za-z0-9]+:[0-9]+)\"");

  private final List<String> frames = new ArrayList<>();
  private final ArrayDeque<SendCallback> pending = new ArrayDeque<>();
  private boolean stalled;
  private boolean failNext;
  private int closeCode = -1;
  private String closeReason;

  @Override
  public void send(String frame, SendCallback done) {
    boolean completeNow;
    boolean fail;
    synchronized (this) {
      frames.add(frame);
      fail = failNext;
      failNext = false;
      completeNow = !stalled || fail;
      if (!completeNow) {
        pending.addLast(done);
      }
    }
    if (completeNow) {
      done.completed(fail ? new IOException("simulated send failure") : null);
    }
  }

  @Override
  public synchronized void close(int code, String reason) {
    if (closeCode < 0) {
      closeCode = code;
      closeReason = reason;
    }
  }

  /** From now on, sends stay pending until completed. */
  public synchronized void stall() {
    stalled = true;
  }

  /** Completes pending sends and lets later ones complete at once. */
  public void resume() {
    synchronized (this) {
      stalled = false;
    }
    while (completeNext()) {
      // each completion may start the next send, which completes at once now
    }
  }

  /** Completes the oldest pending send; false when none is pending. */
  public boolean completeNext() {
    SendCallback done;
    synchronized (this) {
      done = pending.pollFirst();
    }
    if (done == null) {
      return false;
    }
    done.completed(null);
    return true;
  }

  /** The next send fails with an IOException. */
  public synchronized void failNextSend() {
    failNext = true;
  }

  /** Every frame sent so far, in order. */
  public synchronized List<String> frames() {
    return List.copyOf(frames);
  }

  /** The ids of every event sent so far, in order, unpacking {@code batch} frames. */
  public List<String> eventIds() {
    List<String> ids = new ArrayList<>();
    for (String f : frames()) {
      Matcher m = EVENT_ID.matcher(f);
      while (m.find()) {
        ids.add(m.group(1));
      }
    }
    return ids;
  }

  /** Sends waiting for completion. */
  public synchronized int pendingSends() {
    return pending.size();
  }

  public synchronized boolean isClosed() {
    return closeCode >= 0;
  }

  /** The close code, or -1 while open. */
  public synchronized int closeCode() {
    return closeCode;
  }

  public synchronized String closeReason() {
    return closeReason;
  }
}
