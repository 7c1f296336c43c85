package dev.fanout.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fanout.core.Event;
import dev.fanout.core.EventId;
import dev.fanout.core.Recovery;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** The sequencing rules without Redis: a stream kept in memory, bridged and trimmed by hand. */
class SequencerTest {
  private final FakeStream stream = new FakeStream();
  private final Recorder out = new Recorder();
  private long now = 1_000_000_000L;
  private final Sequencer sequencer = new Sequencer(stream, out, () -> now);

  @Test
  void inOrderMessagesAreDeliveredAsTheyCome() {
    sequencer.onConnected();
    Event a = stream.append("mch_1");
    Event b = stream.append("mch_1");
    sequencer.onMessage(a);
    sequencer.onMessage(b);
    assertThat(out.delivered).containsExactly(a.id(), b.id());
    assertThat(stream.reads).isZero();
  }

  @Test
  void aGapIsFilledFromTheStreamBeforeTheMessageAfterIt() {
    sequencer.onConnected();
    Event a = stream.append("mch_1");
    Event b = stream.append("mch_1");
    Event c = stream.append("mch_1");
    sequencer.onMessage(a);
    sequencer.onMessage(c);
    sequencer.onMessage(b); // late duplicate
    assertThat(out.delivered).containsExactly(a.id(), b.id(), c.id());
    assertThat(out.discontinuities).isEmpty();
  }

  @Test
  void aMessageFarAheadThatTheStreamDoesNotHoldIsDroppedAndMovesNothing() {
    sequencer.onConnected();
    Event a = stream.append("mch_1");
    sequencer.onMessage(a);
    Event forged = Event.of(EventId.of(stream.epoch, 101), "mch_1", Map.of(), "{}");
    sequencer.onMessage(forged);
    Event b = stream.append("mch_1");
    sequencer.onMessage(b);
    assertThat(out.delivered).containsExactly(a.id(), b.id());
    assertThat(out.strays).hasSize(1);
    assertThat(out.discontinuities).isEmpty();
  }

  @Test
  void aMessageOfAnEpochTheStreamDoesNotHaveIsDroppedWithoutAResync() {
    sequencer.onConnected();
    Event a = stream.append("mch_1");
    sequencer.onMessage(a);
    for (int i = 1; i <= 50; i++) { // a neighbour deployment on the same channel
      sequencer.onMessage(Event.of(EventId.of("neighbour", i), "mch_9", Map.of(), "{}"));
      now += Sequencer.CHECK_INTERVAL_NANOS;
    }
    Event b = stream.append("mch_1");
    sequencer.onMessage(b);
    assertThat(out.delivered).containsExactly(a.id(), b.id());
    assertThat(out.discontinuities).isEmpty();
    assertThat(out.strays).hasSize(50);
    assertThat(stream.positionReads).as("the foreign epoch is checked once").isEqualTo(2);
  }

  @Test
  void aBridgeAtTheNodesPositionContinuesWithoutADiscontinuity() {
    sequencer.onConnected();
    Event a = stream.append("mch_1");
    sequencer.onMessage(a);
    stream.bridge(); // a restart that lost nothing
    Event b = stream.append("mch_1");
    sequencer.onMessage(b);
    assertThat(b.id().epoch()).isNotEqualTo(a.id().epoch());
    assertThat(out.delivered).containsExactly(a.id(), b.id());
    assertThat(out.discontinuities).isEmpty();
  }

  @Test
  void aBridgeBelowWhatTheNodeDeliveredIsADiscontinuityAndNoIdIsReused() {
    sequencer.onConnected();
    List<Event> before = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      before.add(stream.append("mch_1"));
      sequencer.onMessage(before.get(i));
    }
    stream.loseTail(2); // a failover to a replica without the last two
    stream.bridge();
    Event next = stream.append("mch_1"); // seq 4 again, but in the new epoch
    sequencer.onConnected();
    sequencer.onMessage(next);
    assertThat(out.discontinuities).hasSize(1).first().asString().contains("were lost");
    assertThat(out.delivered).last().isEqualTo(next.id());
    assertThat(next.id().seq()).isEqualTo(4);
    assertThat(next.id().epoch()).isNotEqualTo(before.get(3).id().epoch());
  }

  @Test
  void aTopBelowWhatWasDeliveredBridgesTheStreamItself() {
    sequencer.onConnected();
    for (int i = 0; i < 5; i++) {
      sequencer.onMessage(stream.append("mch_1"));
    }
    String old = stream.epoch;
    stream.loseTail(2); // same server process: nothing bridged yet
    sequencer.onConnected();
    assertThat(stream.epoch).isNotEqualTo(old);
    assertThat(stream.base).isEqualTo(3);
    assertThat(out.discontinuities).hasSize(1).first().asString()
        .contains("below the last delivered");
  }

  @Test
  void anUnknownEpochArrivingFasterThanTheChecksIsSettledOnIdle() {
    sequencer.onConnected();
    Event a = stream.append("mch_1");
    sequencer.onMessage(a);
    sequencer.onMessage(Event.of(EventId.of("neighbour", 1), "mch_9", Map.of(), "{}"));
    stream.bridge();
    Event b = stream.append("mch_1");
    sequencer.onMessage(b); // within the check interval: dropped for now
    assertThat(out.delivered).containsExactly(a.id());
    now += Sequencer.CHECK_INTERVAL_NANOS;
    sequencer.onIdle();
    assertThat(out.delivered).containsExactly(a.id(), b.id());
    assertThat(out.discontinuities).isEmpty();
  }

  @Test
  void aTrimmedPositionIsReportedAndDeliveryGoesOnFromTheOldestRetained() {
    sequencer.onConnected();
    sequencer.onMessage(stream.append("mch_1"));
    for (int i = 0; i < 10; i++) {
      stream.append("mch_1");
    }
    stream.trimTo(5);
    Event last = stream.append("mch_1");
    sequencer.onMessage(last);
    assertThat(out.discontinuities).hasSize(1).first().asString().contains("trimmed");
    assertThat(out.delivered).last().isEqualTo(last.id());
    assertThat(out.delivered).hasSize(1 + 6);
  }

  @Test
  void aFreshNodeStartsAtTheTopAndSaysWhere() {
    stream.append("mch_1");
    Event top = stream.append("mch_1");
    sequencer.onConnected();
    assertThat(out.startsAt).isEqualTo(top.id());
    assertThat(out.delivered).isEmpty();
  }

  @Test
  void aPartitionsSequencerTellsPositionsThatNameThePartition() {
    RedisPartition p3 = RedisStream.named("ns").withPartitions(8).partition(3);
    FakeStream partitionStream = new FakeStream(p3);
    Recorder recorder = new Recorder();
    Sequencer s = new Sequencer(partitionStream, recorder, () -> now, p3);
    partitionStream.append("mch_1");
    partitionStream.append("mch_1");
    s.onConnected();
    assertThat(recorder.startsAt).isEqualTo(EventId.parse("3.e1:2"));
    assertThat(s.position()).isEqualTo(EventId.parse("3.e1:2"));
    Event a = partitionStream.append("mch_1");
    partitionStream.append("mch_1");
    Event c = partitionStream.append("mch_1");
    s.onMessage(a);
    s.onMessage(c); // a gap: 4 comes from the stream, named as the partition names its ids
    assertThat(recorder.delivered).extracting(EventId::toString)
        .containsExactly("3.e1:3", "3.e1:4", "3.e1:5");
    partitionStream.bridge();
    Event d = partitionStream.append("mch_1");
    s.onMessage(d);
    assertThat(recorder.delivered).last().hasToString("3.e2:6");
    assertThat(recorder.discontinuities).isEmpty();
  }

  @Test
  void aTailLostInOnePartitionIsReportedByThatPartitionsSequencerAlone() {
    RedisStream ns = RedisStream.named("ns").withPartitions(2);
    FakeStream[] streams = {new FakeStream(ns.partition(0)), new FakeStream(ns.partition(1))};
    Recorder[] recorders = {new Recorder(), new Recorder()};
    Sequencer[] sequencers = new Sequencer[2];
    for (int p = 0; p < 2; p++) {
      sequencers[p] = new Sequencer(streams[p], recorders[p], () -> now, ns.partition(p));
      sequencers[p].onConnected();
      for (int i = 0; i < 5; i++) {
        sequencers[p].onMessage(streams[p].append("t" + p));
      }
    }
    // partition 1's primary fails over to a replica without its last two events; partition 0's
    // primary restarts and loses nothing: both bridge, only partition 1 lost events
    streams[1].loseTail(2);
    streams[1].bridge();
    streams[0].bridge();
    for (int p = 0; p < 2; p++) {
      sequencers[p].onConnected();
      sequencers[p].onMessage(streams[p].append("t" + p));
    }
    assertThat(recorders[0].discontinuities).isEmpty();
    assertThat(recorders[0].delivered).extracting(EventId::toString)
        .containsExactly("0.e1:1", "0.e1:2", "0.e1:3", "0.e1:4", "0.e1:5", "0.e2:6");
    assertThat(recorders[1].discontinuities).hasSize(1).first().asString()
        .contains("1.e1:4 to 1.e1:5 were lost");
    assertThat(recorders[1].delivered).last().hasToString("1.e2:4"); // not 1.e1:4: never reused
  }

  /** A stream with the meta hash's rules (fanout.lua), in memory. */
  static final class FakeStream implements Sequencer.Source {
    final TreeMap<Long, Event> entries = new TreeMap<>();
    final RedisPartition partition; // names the ids; null: unnamed
    String epoch = "e1";
    String prev;
    long seq;
    long base;
    int reads;
    int positionReads;
    private int epochs = 1;

    FakeStream() {
      this(null);
    }

    FakeStream(RedisPartition partition) {
      this.partition = partition;
    }

    Event append(String topic) {
      seq++;
      EventId id = partition == null ? EventId.of(epoch, seq) : partition.eventId(epoch, seq);
      Event e = Event.of(id, topic, Map.of(), "{\"n\":" + seq + "}");
      entries.put(seq, e);
      return e;
    }

    void bridge() {
      prev = epoch;
      base = seq;
      epoch = "e" + ++epochs;
    }

    void loseTail(int n) {
      for (int i = 0; i < n; i++) {
        entries.remove(seq--);
      }
    }

    void trimTo(int keep) {
      while (entries.size() > keep) {
        entries.pollFirstEntry();
      }
    }

    @Override
    public Position position() {
      positionReads++;
      return new Position(epoch, seq, base, prev);
    }

    @Override
    public Recovery readAfter(String epoch, long afterSeq, int max, List<Event> out) {
      reads++;
      Position top = new Position(this.epoch, seq, base, prev);
      Recovery refused = top.refusal(epoch, afterSeq);
      if (refused != null) {
        return refused;
      }
      long wanted = Math.min(seq - afterSeq, max);
      for (long s = afterSeq + 1; s <= afterSeq + wanted; s++) {
        if (!entries.containsKey(s)) {
          return Recovery.notRecovered(Recovery.Reason.TRIMMED, "trimmed");
        }
      }
      for (long s = afterSeq + 1; s <= afterSeq + wanted; s++) {
        out.add(entries.get(s));
      }
      return null;
    }

    @Override
    public long oldestSeq() {
      return entries.isEmpty() ? 0 : entries.firstKey();
    }

    @Override
    public void newEpoch(String expected) {
      if (epoch.equals(expected)) {
        bridge();
      }
    }
  }

  static final class Recorder implements Sequencer.Output {
    final List<EventId> delivered = new ArrayList<>();
    final List<String> discontinuities = new ArrayList<>();
    final List<String> strays = new ArrayList<>();
    EventId startsAt;

    @Override
    public void deliver(Event event) {
      delivered.add(event.id());
    }

    @Override
    public void discontinuity(String reason) {
      discontinuities.add(reason);
    }

    @Override
    public void startsAt(EventId position) {
      startsAt = position;
    }

    @Override
    public void stray(Event event, String why) {
      strays.add(event.id() + " " + why);
    }
  }
}
