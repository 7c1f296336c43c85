package dev.fanout.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * A transport that writes a hot connection's events together ({@link Transport#sendAll}) gets
 * exactly what the plain path would have put in its {@code batch} frames: the same events, in the
 * same order, split at the same places, between the same control frames; and the same closes.
 * Two hubs hear the same stream, one with plain transports and one with gathering ones, through
 * random publishes, stalled and resumed clients, overflows under every built-in policy, resumes,
 * resubscribes and failed sends.
 */
class GatheredSendsPropertyTest {
  private static final int TOPICS = 4;

  /** Records each gathered send as the batch frame the plain path builds, so both compare. */
  private static final class Gathering implements Transport {
    final InMemoryTransport recorded = new InMemoryTransport();
    int gathered;
    int largest;

    @Override
    public void send(String frame, SendCallback done) {
      recorded.send(frame, done);
    }

    @Override
    public boolean sendAll(List<String> frames, SendCallback done) {
      assertThat(frames).hasSizeGreaterThan(1);
      gathered++;
      largest = Math.max(largest, frames.size());
      recorded.send(Frames.batch(List.copyOf(frames)), done);
      return true;
    }

    @Override
    public void close(int code, String reason) {
      recorded.close(code, reason);
    }
  }

  @Test
  void gatheredSendsCarryExactlyWhatBatchFramesWouldOverManySeeds() {
    long gathered = 0;
    for (long seed = 1; seed <= 300; seed++) {
      gathered += checkWorld(seed);
    }
    assertThat(gathered).as("the worlds exercised gathered sends").isGreaterThan(1000);
  }

  private static Backpressure policy(int which) {
    return switch (which) {
      case 0 -> Backpressure.dropOldest();
      case 1 -> Backpressure.dropNewest();
      case 2 -> Backpressure.disconnect();
      default -> Backpressure.conflate(e -> e.topic());
    };
  }

  private long checkWorld(long seed) {
    Random r = new Random(seed);
    InMemoryStream stream = InMemoryStream.create(10_000);
    int capacity = 2 + r.nextInt(12);
    int maxBatch = 1 + r.nextInt(8);
    Hub plainHub = hub(stream, capacity, maxBatch);
    Hub gatheringHub = hub(stream, capacity, maxBatch);
    int connections = 1 + r.nextInt(8);
    List<InMemoryTransport> plain = new ArrayList<>();
    List<Gathering> gathering = new ArrayList<>();
    List<Connection> plainConns = new ArrayList<>();
    List<Connection> gatheringConns = new ArrayList<>();
    for (int i = 0; i < connections; i++) {
      int p = r.nextInt(4);
      InMemoryTransport t = new InMemoryTransport();
      Gathering g = new Gathering();
      plain.add(t);
      gathering.add(g);
      plainConns.add(plainHub.connect(t, Scope.all(), policy(p)));
      gatheringConns.add(gatheringHub.connect(g, Scope.all(), policy(p)));
    }
    int steps = 100 + r.nextInt(300);
    for (int step = 0; step < steps; step++) {
      int who = r.nextInt(connections);
      InMemoryTransport t = plain.get(who);
      InMemoryTransport g = gathering.get(who).recorded;
      int action = r.nextInt(20);
      if (action == 0) {
        t.stall();
        g.stall();
      } else if (action == 1) {
        t.resume();
        g.resume();
      } else if (action <= 4) {
        t.completeNext();
        g.completeNext();
      } else if (action == 5) {
        Subscription s = randomSubscription(r);
        plainConns.get(who).subscribe(s);
        gatheringConns.get(who).subscribe(s);
      } else if (action == 6) { // a resume from an event some steps back
        List<Event> recent = stream.latest(1 + r.nextInt(20), Subscription.all());
        if (!recent.isEmpty()) {
          Subscription s = randomSubscription(r);
          EventId from = recent.get(recent.size() - 1).id();
          plainConns.get(who).subscribe(s, from);
          gatheringConns.get(who).subscribe(s, from);
        }
      } else if (action == 7 && r.nextInt(10) == 0) {
        t.failNextSend();
        g.failNextSend();
      } else {
        stream.publish("t" + r.nextInt(TOPICS), Map.of(), "{\"n\":" + step + "}");
      }
    }
    long gathered = 0;
    for (int i = 0; i < connections; i++) {
      plain.get(i).resume();
      gathering.get(i).recorded.resume();
      String at = "seed " + seed + " connection " + i;
      assertThat(gathering.get(i).recorded.frames()).as(at).isEqualTo(plain.get(i).frames());
      assertThat(gathering.get(i).recorded.closeCode()).as(at).isEqualTo(plain.get(i).closeCode());
      assertThat(gathering.get(i).largest).as(at).isLessThanOrEqualTo(maxBatch);
      gathered += gathering.get(i).gathered;
    }
    return gathered;
  }

  private static Hub hub(InMemoryStream stream, int capacity, int maxBatch) {
    return Hub.builder().bus(stream).history(stream).snapshotSize(3).outboxCapacity(capacity)
        .maxBatch(maxBatch).build();
  }

  private static Subscription randomSubscription(Random r) {
    if (r.nextInt(3) == 0) {
      return Subscription.all();
    }
    List<String> topics = new ArrayList<>();
    for (int i = 0; i < 1 + r.nextInt(TOPICS); i++) {
      topics.add("t" + r.nextInt(TOPICS));
    }
    return Subscription.builder().topics(topics).build();
  }
}
