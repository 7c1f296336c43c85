package dev.fanout.core;

import java.util.HashMap;
import java.util.Map;
import java.util.function.Function;

/** The policies behind the static factories of {@link Backpressure}. */
final class BuiltInBackpressure {
  private BuiltInBackpressure() {}

  static final Backpressure DROP_NEWEST = new Backpressure() {
    @Override
    public void onOverflow(Overflow overflow) {
      overflow.dropIncoming();
    }

    @Override
    public String name() {
      return "drop_newest";
    }

    @Override
    public String toString() {
      return name();
    }
  };

  static final Backpressure DROP_OLDEST = new Backpressure() {
    @Override
    public void onOverflow(Overflow overflow) {
      overflow.dropOldest();
    }

    @Override
    public String name() {
      return "drop_oldest";
    }

    @Override
    public String toString() {
      return name();
    }
  };

  static final class Disconnect implements Backpressure {
    private final int code;
    private final String reason;

    Disconnect(int code, String reason) {
      this.code = code;
      this.reason = reason;
    }

    @Override
    public void onOverflow(Overflow overflow) {
      overflow.disconnect(code, reason);
    }

    @Override
    public String name() {
      return "disconnect";
    }

    @Override
    public String toString() {
      return "disconnect(" + code + ", " + reason + ")";
    }
  }

  static final class Conflate implements Backpressure {
    private final Function<Event, ?> keyFn;

    Conflate(Function<Event, ?> keyFn) {
      this.keyFn = keyFn;
    }

    @Override
    public void onOverflow(Overflow overflow) {
      Object key = keyFn.apply(overflow.incoming());
      if (key != null && overflow.dropQueued(e -> key.equals(keyFn.apply(e))) > 0) {
        return;
      }
      // Compact: drop every queued event that a later queued event of the same key supersedes.
      Map<Object, Integer> remaining = new HashMap<>();
      for (Event e : overflow.queued()) {
        Object k = keyFn.apply(e);
        if (k != null) {
          remaining.merge(k, 1, Integer::sum);
        }
      }
      int dropped = overflow.dropQueued(e -> {
        Object k = keyFn.apply(e);
        if (k == null) {
          return false;
        }
        int left = remaining.get(k);
        remaining.put(k, left - 1);
        return left > 1;
      });
      if (dropped == 0) {
        overflow.dropOldest();
      }
    }

    @Override
    public String name() {
      return "conflate";
    }

    @Override
    public String toString() {
      return "conflate(" + keyFn + ")";
    }
  }
}
