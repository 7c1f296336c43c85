package dev.fanout.core;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;

/** A transport whose sends complete on another thread, as a real socket's do. */
final class AsyncTransport implements Transport {
  private final Executor completions;
  private final InMemoryTransport recorder = new InMemoryTransport();

  AsyncTransport(Executor completions) {
    this.completions = completions;
  }

  @Override
  public void send(String frame, SendCallback done) {
    recorder.send(frame, failure -> completions.execute(() -> done.completed(failure)));
  }

  @Override
  public void close(int code, String reason) {
    recorder.close(code, reason);
  }

  List<String> eventIds() {
    return new ArrayList<>(recorder.eventIds());
  }
}
