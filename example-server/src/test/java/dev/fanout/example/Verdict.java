package dev.fanout.example;

import dev.fanout.core.EventId;
import dev.fanout.core.MalformedEventIdException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Judges what the clients received against the stream: every event a client's merchants call
 * for, exactly once, in order (per partition: a partitioned stream promises no order across
 * them), from where its current state began to the end. A client's state
 * begins again only at a reset (a fresh subscribe, or the server saying recovery failed), and
 * such resets are counted so a test can demand they be explained.
 */
final class Verdict {
  long expected;
  long delivered;
  long duplicates;
  long outOfOrder;
  long lost;
  long unknown; // ids the stream does not hold (events Redis lost in a failover)
  long unannounced; // of those, the ones not followed by a reset before anything else
  long unexplainedResets; // times a client had to rebuild its state
  final Map<String, Integer> resetReasons = new TreeMap<>();
  long clients;
  /** The gaps, with the client that has them (the first 10), to explain a loss. */
  final List<String> gaps = new ArrayList<>();

  static Verdict judge(List<Dashboard.Received> reference, List<Dashboard> clients) {
    Verdict v = new Verdict();
    for (Dashboard c : clients) {
      v.add(reference, c);
    }
    return v;
  }

  private void add(List<Dashboard.Received> reference, Dashboard c) {
    clients++;
    for (String reason : c.resets()) {
      unexplainedResets++;
      resetReasons.merge(reason, 1, Integer::sum);
    }
    // Order is per partition (protocol.md): each is judged on its own, against its own events.
    Map<Integer, List<String>> mine = new TreeMap<>();
    for (Dashboard.Received r : reference) {
      if (c.wants(r.merchant())) {
        mine.computeIfAbsent(partition(r.id()), k -> new ArrayList<>()).add(r.id());
      }
    }
    List<List<Dashboard.Received>> segments = c.segments();
    Set<Integer> partitions = new TreeSet<>(mine.keySet());
    segments.forEach(s -> s.forEach(r -> partitions.add(partition(r.id()))));
    for (int q : partitions) {
      List<List<Dashboard.Received>> ofQ = new ArrayList<>();
      for (List<Dashboard.Received> s : segments) {
        ofQ.add(s.stream().filter(r -> partition(r.id()) == q).toList());
      }
      long lostBefore = lost;
      add(mine.getOrDefault(q, List.of()), ofQ);
      if (lost > lostBefore && gaps.size() < 10) {
        gaps.add("client " + (clients - 1) + ": " + gapOf(mine.getOrDefault(q, List.of()), ofQ)
            + "\n  " + c.describe());
      }
    }
  }

  /** Where a client's events of one partition skip some: the ids either side, per segment. */
  private static String gapOf(List<String> mine, List<List<Dashboard.Received>> segments) {
    Map<String, Integer> position = new HashMap<>();
    for (int i = 0; i < mine.size(); i++) {
      position.put(mine.get(i), i);
    }
    StringBuilder sb = new StringBuilder();
    for (int s = 0; s < segments.size(); s++) {
      int previous = -1;
      String previousId = null;
      for (Dashboard.Received r : segments.get(s)) {
        Integer p = position.get(r.id());
        if (p == null) {
          continue;
        }
        if (previous != -1 && p > previous + 1) {
          sb.append("segment ").append(s).append(" after ").append(previousId).append(" next ")
              .append(r.id()).append(" (").append(p - previous - 1).append(" missing); ");
        }
        if (p > previous) {
          previous = p;
          previousId = r.id();
        }
      }
    }
    return sb.length() == 0 ? "the tail" : sb.toString();
  }

  private static int partition(String id) {
    try {
      return EventId.parse(id).partition();
    } catch (MalformedEventIdException e) {
      return -1;
    }
  }

  /** One stream (a partition): {@code mine}, the client's events of it, in order. */
  private void add(List<String> mine, List<List<Dashboard.Received>> segments) {
    Map<String, Integer> position = new HashMap<>();
    for (int i = 0; i < mine.size(); i++) {
      position.put(mine.get(i), i);
    }
    int last = -1;
    int firstOfState = -1;
    for (int s = 0; s < segments.size(); s++) {
      int previous = -1;
      int unknownHere = 0; // since the last known event of this segment
      for (Dashboard.Received r : segments.get(s)) {
        delivered++;
        Integer p = position.get(r.id());
        if (p == null) {
          unknown++;
          unknownHere++;
          continue;
        }
        unannounced += unknownHere; // a known event after a lost one, with no reset between
        unknownHere = 0;
        if (previous == -1) {
          firstOfState = p; // a reset: the state starts here
        } else if (p <= previous) {
          if (p == previous) {
            duplicates++;
          } else {
            outOfOrder++;
          }
          continue;
        } else if (p > previous + 1) {
          lost += p - previous - 1;
        }
        previous = p;
      }
      if (previous != -1) {
        last = previous;
      }
      if (s == segments.size() - 1) {
        unannounced += unknownHere; // the client still holds lost events as its state
      }
    }
    if (firstOfState == -1) {
      firstOfState = 0;
      last = -1;
    }
    lost += mine.size() - 1 - last; // the tail it never got
    expected += mine.size() - firstOfState;
  }

  boolean perfect() {
    return duplicates == 0 && outOfOrder == 0 && lost == 0 && unknown == 0;
  }

  /**
   * Perfect but for events Redis itself lost (a failover), each of which the client was told
   * about by a reset before it received anything else.
   */
  boolean exactOrAnnounced() {
    return duplicates == 0 && outOfOrder == 0 && lost == 0 && unannounced == 0;
  }

  @Override
  public String toString() {
    return String.format("clients=%d expected=%d delivered=%d lost=%d duplicates=%d "
        + "out_of_order=%d unknown=%d unannounced=%d resets=%d %s", clients, expected,
        delivered, lost, duplicates, outOfOrder, unknown, unannounced, unexplainedResets,
        resetReasons);
  }
}
