package dev.fanout.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * {@link CatchUp} against a brute-force oracle, over random worlds: a stream of several epochs
 * (fresh ones, and ones bridged from the epoch before, whose sequence goes on), events whose data
 * is sometimes not JSON, a store with a retention, a scan bound and a recovery limit, a previous
 * and a new subscription, a resume point of any kind (none, any event of any epoch, trimmed, not
 * yet stored, unknown), and a hold window: the outbox is held at {@code h}, the connection
 * indexed at {@code i} (the position is the event before), history read when {@code r} events
 * were routed and {@code s} stored, and the hold released at {@code e}; then the rest of the
 * stream is routed through the outbox's order check.
 *
 * <p>The oracle knows the stream order, which the merge never sees (it has ids): after a
 * recovered resume from the event at index {@code j}, the client must end up with every valid
 * event the subscription matches at an index after {@code j}; after a snapshot, with the
 * snapshot and then every such event after both the snapshot's last and the position. Exactly
 * those, in stream order, once each; and {@code subscribed} must say what came.
 */
class CatchUpPropertyTest {
  private static final String[] TOPICS = {"a", "b", "c", "d"};
  private static final String[] METHODS = {"card", "sepa"};

  @Test
  void theMergeGivesExactlyWhatTheOracleSaysOverManyWorlds() {
    int recovered = 0;
    int nonEmptyLive = 0;
    int duplicatesRemoved = 0;
    for (long seed = 1; seed <= 3_000; seed++) {
      World w = new World(new Random(seed));
      String at = "seed " + seed + ": " + w;
      CatchUp.Merged<Event> m = CatchUp.merge(w.read, w.held, Function.identity(),
          w.now::matches);
      CatchUp.Answer a = m.answer();

      assertThat(a.recovered()).as(at).isEqualTo(w.read.recovered());
      assertThat(ids(a.replay())).as(at).isEqualTo(ids(valid(w.read.history())));
      assertThat(ids(a.invalid())).as(at).isEqualTo(ids(invalid(w.read.history())));
      assertThat(a.missed()).as(at).isEqualTo(a.recovered() ? a.replay().size() : 0);
      assertThat(a.position()).as(at)
          .isEqualTo(w.position == null ? null : Cursor.of(w.position));

      List<Event> delivered = new ArrayList<>(a.replay());
      delivered.addAll(m.live());
      delivered.addAll(w.routeAfterRelease(m.lastAccepted().get(0))); // one partition
      assertThat(ids(delivered)).as(at).isEqualTo(ids(w.oracle()));

      recovered += a.recovered() ? 1 : 0;
      nonEmptyLive += m.live().isEmpty() ? 0 : 1;
      int heldWanted = (int) w.held.stream().filter(w.now::matches).count();
      duplicatesRemoved += heldWanted > m.live().size() ? 1 : 0;
    }
    // the worlds exercised every branch
    assertThat(recovered).isGreaterThan(300);
    assertThat(nonEmptyLive).isGreaterThan(300);
    assertThat(duplicatesRemoved).isGreaterThan(300);
  }

  /** One random world, and what the brute-force store and oracle make of it. */
  private static final class World {
    final List<Event> stream = new ArrayList<>();
    final int freshStart; // the first event of the last epoch created afresh: older are gone
    final int epochStart; // the first event of the current epoch
    final int h;
    final int i;
    final int s;
    final int e;
    final int retention;
    final int maxScan;
    final int snapshotSize;
    final long limit;
    final Subscription previous; // null: the connection's first subscribe
    final Subscription now;
    final EventId resumeFrom;
    final int resumeIndex; // in the stream; -1 when not an event of it
    final EventId position;
    final List<Event> held = new ArrayList<>();
    final CatchUp.Read read;
    int snapshotLastIndex = -1;

    World(Random r) {
      int epochs = 1 + r.nextInt(3);
      int fresh = 0;
      int current = 0;
      long seq = 0;
      for (int k = 0; k < epochs; k++) {
        boolean bridged = k > 0 && r.nextBoolean();
        if (!bridged) {
          seq = 0;
          fresh = stream.size();
        }
        current = stream.size();
        String epoch = "ep" + k + "x" + r.nextInt(1000);
        int length = (k == epochs - 1 ? 1 : 0) + r.nextInt(30);
        for (int n = 0; n < length; n++) {
          seq++;
          String data = r.nextInt(15) == 0 ? "not json " + seq : "{\"n\":" + seq + "}";
          stream.add(Event.of(EventId.of(epoch, seq), TOPICS[r.nextInt(TOPICS.length)],
              Map.of("method", METHODS[r.nextInt(METHODS.length)]), data));
        }
      }
      freshStart = fresh;
      epochStart = current;
      int n = stream.size();
      h = epochStart + r.nextInt(n - epochStart + 1);
      i = h + r.nextInt(n - h + 1);
      int routedAtRead = i + r.nextInt(n - i + 1);
      s = routedAtRead + r.nextInt(n - routedAtRead + 1); // the store may be ahead of routing
      e = routedAtRead + r.nextInt(n - routedAtRead + 1);
      retention = 1 + r.nextInt(40);
      maxScan = 1 + r.nextInt(30);
      snapshotSize = r.nextInt(7);
      limit = r.nextInt(4) == 0 ? r.nextInt(10) : Long.MAX_VALUE;
      previous = r.nextInt(4) == 0 ? null : randomSubscription(r);
      now = randomSubscription(r);
      position = i - 1 >= freshStart ? stream.get(i - 1).id() : null; // none since a reset

      int kind = r.nextInt(10);
      if (kind < 2) {
        resumeFrom = null;
        resumeIndex = -1;
      } else if (kind < 8 && n > 0) {
        resumeIndex = r.nextInt(n);
        resumeFrom = stream.get(resumeIndex).id();
      } else if (kind == 8) {
        EventId top = stream.get(n - 1).id();
        resumeFrom = EventId.of(top.epoch(), top.seq() + 1 + r.nextInt(3));
        resumeIndex = -1;
      } else {
        resumeFrom = EventId.of("unknown" + r.nextInt(9), 1 + r.nextInt(40));
        resumeIndex = -1;
      }

      for (int k = h; k < e; k++) { // routed while held: under the previous subscription first
        Event ev = stream.get(k);
        Subscription indexedUnder = k < i ? previous : now;
        if (JsonText.isOneValue(ev.data()) && indexedUnder != null && indexedUnder.matches(ev)) {
          held.add(ev);
        }
      }
      read = readHistory();
    }

    private int oldest() {
      return Math.max(freshStart, s - retention);
    }

    /** History as a store answers when it holds the first {@code s} events. */
    private CatchUp.Read readHistory() {
      if (resumeFrom != null && resumeIndex >= 0 && resumeIndex < s
          && resumeIndex >= Math.max(freshStart, oldest() - 1)
          && s - 1 - resumeIndex <= limit) {
        List<Event> missed = new ArrayList<>();
        for (int k = resumeIndex + 1; k < s; k++) {
          if (now.matches(stream.get(k))) {
            missed.add(stream.get(k));
          }
        }
        return new CatchUp.Read(resumeFrom, true, missed, position);
      }
      List<Event> snapshot = new ArrayList<>();
      for (int k = s - 1; k >= Math.max(oldest(), s - maxScan) && snapshot.size() < snapshotSize;
          k--) {
        if (now.matches(stream.get(k))) {
          snapshot.add(0, stream.get(k));
          snapshotLastIndex = Math.max(snapshotLastIndex, k);
        }
      }
      return new CatchUp.Read(resumeFrom, false, snapshot, position);
    }

    /** The rest of the stream, routed after the release through the outbox's order check. */
    List<Event> routeAfterRelease(EventId lastAccepted) {
      List<Event> out = new ArrayList<>();
      EventId last = lastAccepted;
      for (int k = e; k < stream.size(); k++) {
        Event ev = stream.get(k);
        if (!JsonText.isOneValue(ev.data()) || !now.matches(ev)) {
          continue;
        }
        if (last != null && last.sameEpoch(ev.id()) && !ev.id().isAfter(last)) {
          continue;
        }
        out.add(ev);
        last = ev.id();
      }
      return out;
    }

    /** What the client must end up with, from stream positions alone. */
    List<Event> oracle() {
      List<Event> want = new ArrayList<>();
      int after;
      if (read.recovered()) {
        after = resumeIndex;
      } else {
        want.addAll(valid(read.history()));
        after = Math.max(snapshotLastIndex, i - 1);
      }
      for (int k = after + 1; k < stream.size(); k++) {
        Event ev = stream.get(k);
        if (JsonText.isOneValue(ev.data()) && now.matches(ev)) {
          want.add(ev);
        }
      }
      return want;
    }

    @Override
    public String toString() {
      return "stream " + ids(stream) + " freshStart=" + freshStart + " epochStart=" + epochStart
          + " h=" + h + " i=" + i + " s=" + s + " e=" + e + " retention=" + retention
          + " maxScan=" + maxScan + " snapshot=" + snapshotSize + " limit=" + limit
          + " previous=" + previous + " now=" + now + " resumeFrom=" + resumeFrom
          + " position=" + position + " held=" + ids(held) + " read=" + read.recovered() + " "
          + ids(read.history());
    }
  }

  private static Subscription randomSubscription(Random r) {
    Subscription.Builder b = Subscription.builder();
    if (r.nextInt(3) > 0) {
      Set<String> topics = new HashSet<>();
      for (String t : TOPICS) {
        if (r.nextBoolean()) {
          topics.add(t);
        }
      }
      b.topics(topics);
    }
    if (r.nextInt(3) == 0) {
      b.attribute("method", METHODS[r.nextInt(METHODS.length)]);
    }
    if (r.nextInt(4) == 0) {
      int mod = 2 + r.nextInt(3);
      b.filter(ev -> ev.id().seq() % mod != 0);
    }
    return b.build();
  }

  private static List<Event> valid(List<Event> events) {
    return events.stream().filter(ev -> JsonText.isOneValue(ev.data())).toList();
  }

  private static List<Event> invalid(List<Event> events) {
    return events.stream().filter(ev -> !JsonText.isOneValue(ev.data())).toList();
  }

  private static List<String> ids(List<Event> events) {
    return events.stream().map(ev -> ev.id().toString()).toList();
  }
}
