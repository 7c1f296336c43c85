package dev.fanout.bench;

import dev.fanout.core.Transport;

/** A socket that writes instantly and keeps nothing: measures the hub, not the network. */
final class NullTransport implements Transport {
  long frames;

  @Override
  public void send(String frame, SendCallback done) {
    frames++;
    done.completed(null);
  }

  @Override
  public void close(int code, String reason) {}
}
