package dev.fanout.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The hub over a partitioned stream against the plain path: random worlds of 1 to 6 partitions,
 * clients that follow a few topics or all of them, drop their connection at random and come back
 * resuming from their position (the client's rule, per partition), partitions that lose their
 * past (a new epoch), retention small enough that some resumes cannot be served. Every client's
 * view since its last reset is compared with the stream's log, partition by partition: after
 * where its view began, exactly the events of its subscription, in order, none twice, none
 * missing, across every reconnect. And the bus is asked for the partitions the clients follow.
 */
class PartitionedHubPropertyTest {
  private static final Pattern SUBSCRIBED = Pattern.compile(
      "\\{\"type\":\"subscribed\",\"recovered\":(true|false),\"missed\":\\d+,\"replay\":(\\d+)"
      + "(?:,\"position\":\"([^\"]+)\")?}");
  private static final Pattern EVENT_ID =
      Pattern.compile("\\{\"type\":\"event\",\"id\":\"([^\"]+)\"");

  @Test
  void everyClientGetsExactlyItsEventsPerPartitionAcrossDropsResumesAndLosses() {
    int recovered = 0;
    int notRecovered = 0;
    int resyncs = 0;
    for (long seed = 1; seed <= 120; seed++) {
      World w = new World(new Random(seed));
      try {
        w.run();
        recovered += w.recovered;
        notRecovered += w.notRecovered;
        resyncs += w.resyncs;
      } catch (AssertionError e) {
        throw new AssertionError("seed " + seed + ": " + e.getMessage(), e);
      } finally {
        w.hub.close();
      }
    }
    // the worlds exercised every path
    assertThat(recovered).isGreaterThan(200);
    assertThat(notRecovered).isGreaterThan(20);
    assertThat(resyncs).isGreaterThan(20);
  }

  /** One random world: a stream, a hub, clients and a script of publishes, drops and losses. */
  private static final class World {
    final Random rnd;
    final int partitions;
    final InMemoryStream stream;
    final Hub hub;
    final List<String> topics = new ArrayList<>();
    final Map<String, Event> log = new HashMap<>(); // every event published, by id
    final List<Event> published = new ArrayList<>();
    final List<Client> clients = new ArrayList<>();
    final int[] epochStart; // per partition: where its current epoch begins in published
    int recovered;
    int notRecovered;
    int resyncs;

    World(Random rnd) {
      this.rnd = rnd;
      this.partitions = 1 + rnd.nextInt(6);
      this.epochStart = new int[partitions];
      int retention = 40 + rnd.nextInt(400);
      this.stream = InMemoryStream.partitioned(partitions, retention, retention);
      int[] recent = {0, 30, 1000};
      this.hub = Hub.builder().bus(stream).history(stream).snapshotSize(1 + rnd.nextInt(8))
          .outboxCapacity(1_000_000).recentEvents(recent[rnd.nextInt(recent.length)]).build();
      for (int i = 0; i < 10; i++) {
        topics.add("t" + i);
      }
      int n = 2 + rnd.nextInt(5);
      for (int i = 0; i < n; i++) {
        clients.add(new Client(this, subscription()));
      }
    }

    Subscription subscription() {
      if (rnd.nextInt(3) == 0) {
        return Subscription.all();
      }
      Set<String> some = new HashSet<>();
      int k = 1 + rnd.nextInt(3);
      while (some.size() < k) {
        some.add(topics.get(rnd.nextInt(topics.size())));
      }
      return Subscription.builder().topics(some).build();
    }

    void run() {
      for (int i = 0; i < 40 && rnd.nextBoolean(); i++) {
        publish(); // a past before the first client
      }
      clients.forEach(Client::connect);
      for (int step = 0; step < 400; step++) {
        int r = rnd.nextInt(100);
        if (r < 85) {
          publish();
        } else if (r < 97) {
          clients.get(rnd.nextInt(clients.size())).reconnect();
        } else if (r < 99) {
          clients.get(rnd.nextInt(clients.size())).awaitAnswers();
        } else {
          lose(rnd.nextInt(partitions));
        }
      }
      clients.forEach(Client::awaitAnswers);
      Set<Integer> followed = new HashSet<>();
      for (Client c : clients) {
        c.check();
        for (int p : followedBy(c.subscription)) {
          followed.add(p);
        }
      }
      if (partitions > 1) { // the bus receives what the clients follow, nothing more
        assertThat(stream.needed()).isEqualTo(followed);
      }
    }

    void publish() {
      String topic = topics.get(rnd.nextInt(topics.size()));
      EventId id = stream.publish(topic, Map.of(), "{}");
      Event e = Event.of(id, topic, Map.of(), "{}", 0);
      log.put(id.toString(), e);
      published.add(e);
    }

    /** A partition loses its past: its followers are resynchronized before the script goes on. */
    void lose(int partition) {
      clients.forEach(Client::awaitAnswers);
      Map<Client, Integer> before = new HashMap<>();
      for (Client c : clients) {
        before.put(c, c.subscribedFrames());
      }
      stream.reset(partition);
      epochStart[partition] = published.size();
      for (Client c : clients) {
        if (contains(followedBy(c.subscription), partition)) {
          await().atMost(Duration.ofSeconds(10)).pollDelay(Duration.ZERO)
              .pollInterval(Duration.ofMillis(1)).until(() -> c.subscribedFrames() > before.get(c));
          resyncs++;
        }
      }
    }

    int[] followedBy(Subscription s) {
      Partitioning p = stream.partitioning();
      if (s.allTopics()) {
        int[] all = new int[partitions];
        for (int i = 0; i < partitions; i++) {
          all[i] = i;
        }
        return all;
      }
      return s.topics().stream().mapToInt(p::partitionOf).distinct().sorted().toArray();
    }

    static boolean contains(int[] a, int v) {
      for (int x : a) {
        if (x == v) {
          return true;
        }
      }
      return false;
    }
  }

  /**
   * A client as protocol.md says: it resumes from its position (per partition, the newer of the
   * last event it processed and the position of the latest {@code subscribed} once its replay was
   * processed), and it drops its view on {@code recovered:false}.
   */
  private static final class Client {
    final World world;
    final Subscription subscription;
    InMemoryTransport transport;
    Connection connection;
    CompletableFuture<Boolean> answered = CompletableFuture.completedFuture(true);
    int read; // frames of the transport processed
    int subscribedSeen;
    // the client's resume rule
    final Map<Integer, EventId> last = new TreeMap<>();
    final Map<Integer, EventId> position = new TreeMap<>();
    Cursor pending;
    int pendingReplay;
    // what the test checks: per partition, the events after where the view began
    final Map<Integer, EventId> base = new TreeMap<>();
    final Map<Integer, List<String>> got = new TreeMap<>();
    boolean inResetReplay;
    int resetReplayLeft;
    boolean resumed;
    boolean firstAnswer;
    final List<String> trace = new ArrayList<>(); // for a failure's message

    Client(World world, Subscription subscription) {
      this.world = world;
      this.subscription = subscription;
    }

    void connect() {
      transport = new InMemoryTransport();
      read = 0;
      connection = world.hub.connect(transport, Scope.all());
      Cursor from = resumeFrom();
      resumed = from != null;
      firstAnswer = true;
      trace.add("connect from " + from);
      answered = connection.resumeAsync(subscription, from);
    }

    void reconnect() {
      awaitAnswers();
      connection.transportClosed();
      process();
      connect();
    }

    void awaitAnswers() {
      answered.join();
      process();
    }

    int subscribedFrames() {
      process();
      return subscribedSeen;
    }

    synchronized void process() {
      List<String> frames = transport.frames();
      for (; read < frames.size(); read++) {
        String f = frames.get(read);
        if (!f.startsWith("{\"type\":\"event") && !f.startsWith("{\"type\":\"batch")) {
          trace.add(f);
        }
        Matcher s = SUBSCRIBED.matcher(f);
        if (s.matches()) {
          subscribed(Boolean.parseBoolean(s.group(1)), Integer.parseInt(s.group(2)),
              s.group(3));
          continue;
        }
        assertThat(f).as("no other frame than subscribed and events")
            .matches("\\{\"type\":\"(event|batch)\".*");
        Matcher e = EVENT_ID.matcher(f);
        while (e.find()) {
          event(EventId.parse(e.group(1)));
        }
      }
    }

    void subscribed(boolean recovered, int replay, String positionText) {
      subscribedSeen++;
      // the answer to a fresh subscribe, or one that could not recover, drops the view; the
      // server's own (a resync: any later subscribed on this connection) only when not recovered
      boolean reset = firstAnswer && !resumed || !recovered;
      firstAnswer = false;
      if (recovered) {
        world.recovered++;
      } else {
        world.notRecovered++;
      }
      if (reset) {
        last.clear();
        got.clear();
        base.clear();
        inResetReplay = true;
        resetReplayLeft = replay;
      }
      position.clear();
      pending = positionText == null ? null : Cursor.parse(positionText);
      pendingReplay = replay;
      adoptIfReplayed();
    }

    void event(EventId id) {
      last.put(id.partition(), id);
      if (pending != null) {
        pendingReplay--;
        adoptIfReplayed();
      }
      if (inResetReplay) {
        resetReplayLeft--;
        if (resetReplayLeft < 0) {
          throw new AssertionError("more events than the snapshot's replay before the base");
        }
        adoptIfReplayed();
        return;
      }
      got.computeIfAbsent(id.partition(), p -> new ArrayList<>()).add(id.toString());
    }

    private void adoptIfReplayed() {
      if (pending != null && pendingReplay <= 0) {
        position.clear();
        for (EventId id : pending.ids()) {
          position.put(id.partition(), id);
        }
        pending = null;
      }
      if (inResetReplay && resetReplayLeft == 0) { // where the view begins: its resume point
        inResetReplay = false;
        Cursor from = resumeFrom();
        if (from != null) {
          for (EventId id : from.ids()) {
            base.put(id.partition(), id);
          }
        }
      }
    }

    /** The rule: per partition the last event, or the position when newer in the same epoch. */
    Cursor resumeFrom() {
      Map<Integer, EventId> out = new TreeMap<>(position);
      for (Map.Entry<Integer, EventId> e : last.entrySet()) {
        EventId pos = out.get(e.getKey());
        if (pos == null || !pos.sameEpoch(e.getValue()) || e.getValue().seq() >= pos.seq()) {
          out.put(e.getKey(), e.getValue());
        }
      }
      return out.isEmpty() ? null : Cursor.of(out.values());
    }

    /** Since its view began: per partition exactly the stream's events it follows, in order. */
    void check() {
      assertThat(inResetReplay).as("the snapshot's replay was delivered").isFalse();
      for (int p : world.followedBy(subscription)) {
        EventId from = base.get(p);
        List<String> expected = new ArrayList<>();
        List<Event> epoch = world.published.subList(world.epochStart[p], world.published.size());
        for (Event e : epoch) { // of the partition's current epoch
          EventId id = e.id();
          if (id.partition() != p || !subscription.matches(e)) {
            continue;
          }
          if (from == null || !from.sameEpoch(id) || id.isAfter(from)) {
            expected.add(id.toString());
          }
        }
        assertThat(got.getOrDefault(p, List.of()))
            .as("partition %d of %d, client %s from %s (needed %s, closed %s, frames %s)", p,
                world.partitions, subscription, from, world.stream.needed(),
                transport.closeCode(), trace)
            .isEqualTo(expected);
      }
      for (int p : got.keySet()) {
        assertThat(World.contains(world.followedBy(subscription), p))
            .as("events only of partitions it follows").isTrue();
      }
    }
  }
}
