package dev.fanout.bench;

import dev.fanout.core.Event;
import dev.fanout.core.Subscription;
import dev.fanout.core.Transport;
import java.util.ArrayList;
import java.util.List;

/**
 * The design fanout replaces: every publish scans every connection and tests its subscription
 * (and filter). Frames are encoded once per event here too, to isolate the cost of the scan.
 */
final class NaiveHub {
  private final List<Subscription> subscriptions = new ArrayList<>();
  private final List<Transport> transports = new ArrayList<>();

  void add(Subscription s, Transport t) {
    subscriptions.add(s);
    transports.add(t);
  }

  int publish(Event e) {
    String frame = null;
    int n = 0;
    for (int i = 0; i < subscriptions.size(); i++) {
      if (subscriptions.get(i).matches(e)) {
        if (frame == null) {
          frame = "{\"type\":\"event\",\"id\":\"" + e.id() + "\",\"data\":" + e.data() + "}";
        }
        transports.get(i).send(frame, f -> {});
        n++;
      }
    }
    return n;
  }
}
