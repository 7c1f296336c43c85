package dev.fanout.protocol;

import dev.fanout.core.Transport;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A {@link ProtocolSocket} in memory, the counterpart of core's {@code InMemoryTransport}: it
 * records the frames, pings and close a session writes, so protocol rules (limits, rate, error
 * budget, heartbeat, credential expiry, replay budget) are tested without a network. Sends
 * complete at once unless {@linkplain #stall() stalled}, which plays a client that stopped
 * reading. Thread-safe.
 */
public final class InMemorySocket implements ProtocolSocket {
  private final List<String> frames = new ArrayList<>();
  private final List<byte[]> pings = new ArrayList<>();
  private final List<Transport.SendCallback> stalled = new ArrayList<>();
  private boolean stall;
  private int closeCode;
  private String closeReason;

  @Override
  public void send(String frame, Transport.SendCallback done) {
    synchronized (this) {
      if (closeCode != 0) {
        done.completed(new IllegalStateException("closed"));
        return;
      }
      frames.add(frame);
      if (stall) {
        stalled.add(done);
        return;
      }
    }
    done.completed(null);
  }

  @Override
  public synchronized void ping(byte[] payload) {
    pings.add(payload.clone());
  }

  @Override
  public synchronized void close(int code, String reason, Duration deadline) {
    if (closeCode == 0) {
      closeCode = code;
      closeReason = reason;
    }
  }

  /** From now on sends do not complete, as with a client that does not read. */
  public synchronized void stall() {
    stall = true;
  }

  /** Completes the sends that waited and lets later ones complete at once. */
  public void resume() {
    List<Transport.SendCallback> waiting;
    synchronized (this) {
      stall = false;
      waiting = new ArrayList<>(stalled);
      stalled.clear();
    }
    waiting.forEach(done -> done.completed(null));
  }

  /** Every text frame sent, in order. */
  public synchronized List<String> frames() {
    return List.copyOf(frames);
  }

  /** The payload of every ping sent, in order. */
  public synchronized List<byte[]> pings() {
    return List.copyOf(pings);
  }

  /** The close code the session closed with, 0 while open. */
  public synchronized int closeCode() {
    return closeCode;
  }

  /** The close reason, or null while open. */
  public synchronized String closeReason() {
    return closeReason;
  }

  @Override
  public synchronized String toString() {
    return "InMemorySocket{frames=" + frames.size() + ", close=" + closeCode + "}";
  }
}
