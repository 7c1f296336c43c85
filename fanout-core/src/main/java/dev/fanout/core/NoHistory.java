package dev.fanout.core;

import java.util.List;

final class NoHistory implements History {
  static final NoHistory INSTANCE = new NoHistory();

  @Override
  public List<Event> latest(int limit, Subscription subscription) {
    return List.of();
  }

  @Override
  public Recovery since(EventId after, Subscription subscription) {
    return Recovery.notRecovered(Recovery.Reason.UNKNOWN_ID, "no history is kept");
  }
}
