package dev.fanout.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A client can match answers to its messages: they arrive in the order the messages were sent,
 * and each {@code subscribed} is followed by exactly {@code replay} history events.
 */
class AnswerOrderTest {
  private static final Pattern REPLAY = Pattern.compile("\"replay\":(\\d+)");
  private static final String SUPERSEDED =
      "{\"type\":\"subscribed\",\"recovered\":false,\"missed\":0,\"replay\":0}";

  private final InMemoryStream stream = InMemoryStream.create(1000);
  private final CountDownLatch storeAnswers = new CountDownLatch(1);
  private final List<Hub> hubs = new ArrayList<>();

  /** The stream as history, whose snapshots wait until the test lets them through. */
  private final History slowStore = new History() {
    @Override
    public List<Event> latest(int limit, Subscription subscription) {
      try {
        storeAnswers.await(30, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return stream.latest(limit, subscription);
    }

    @Override
    public Recovery since(EventId after, Subscription subscription) {
      return stream.since(after, subscription);
    }
  };

  @AfterEach
  void close() {
    storeAnswers.countDown();
    hubs.forEach(Hub::close);
  }

  private Hub hub(History history) {
    Hub h = Hub.builder().bus(stream).history(history).snapshotSize(3).build();
    hubs.add(h);
    return h;
  }

  private void publish(int n, String topic) {
    for (int i = 0; i < n; i++) {
      stream.publish(topic, Map.of(), "{\"i\":" + i + "}");
    }
  }

  /** The answers among the frames: {@code subscribed} and {@code error}, in order. */
  private static List<String> answers(InMemoryTransport t) {
    return t.frames().stream().filter(f -> f.startsWith("{\"type\":\"subscribed\"")
        || f.startsWith("{\"type\":\"error\"")).toList();
  }

  @Test
  void anErrorForALaterMessageComesAfterTheSubscribedOfEveryEarlierSubscribe() {
    publish(5, "a");
    InMemoryTransport t = new InMemoryTransport();
    Connection c = hub(slowStore).connect(t, Scope.all());
    c.subscribeAsync(Subscription.builder().topics("a").build(), null); // reading, slowly
    c.sendError("bad_request", "message 2");
    c.subscribeAsync(Subscription.builder().topics("b").build(), null);
    c.sendError("forbidden", "message 4");
    assertThat(t.frames()).as("the errors wait for the subscribe before them").isEmpty();

    storeAnswers.countDown();
    await().until(() -> answers(t).size() == 4);
    List<String> answers = answers(t);
    assertThat(answers.get(0)).startsWith("{\"type\":\"subscribed\"").contains("\"replay\":3");
    assertThat(answers.get(1)).contains("\"message\":\"message 2\"");
    assertThat(answers.get(2)).startsWith("{\"type\":\"subscribed\"");
    assertThat(answers.get(3)).contains("\"message\":\"message 4\"");
    assertThat(t.eventIds()).hasSize(3); // the first answer's, between it and the error
  }

  @Test
  void anErrorNeverOvertakesASubscribedQueuedBehindEarlierEvents() {
    publish(3, "a");
    InMemoryTransport t = new InMemoryTransport();
    Connection c = hub(stream).connect(t, Scope.all());
    t.stall();
    c.subscribe(Subscription.builder().topics("a").build()); // 'subscribed' waits in the socket
    c.subscribe(Subscription.builder().topics("a").build()); // its own 'subscribed', queued
    c.sendError("rate_limited", "slow down");

    t.resume();
    List<String> frames = t.frames();
    assertThat(frames).hasSize(5);
    assertThat(frames.get(0)).contains("\"replay\":3");
    assertThat(frames.get(1)).startsWith("{\"type\":\"batch\""); // the 3 it promised
    assertThat(frames.get(2)).contains("\"replay\":3");
    assertThat(frames.get(3)).startsWith("{\"type\":\"error\",\"code\":\"rate_limited\"");
    assertThat(countEventsAfterEachSubscribed(t)).containsExactly(3, 3);
  }

  @Test
  void aSubscribeReplacedBeforeItsAnswerWasSentSaysItReplaysNothing() {
    publish(3, "a");
    InMemoryTransport t = new InMemoryTransport();
    Connection c = hub(stream).connect(t, Scope.all());
    c.subscribe(Subscription.builder().topics("a").build());
    t.stall();
    publish(1, "a"); // in the socket: what follows waits
    c.subscribe(Subscription.builder().topics("a").build()); // answered, not sent
    c.subscribe(Subscription.all()); // replaces it

    t.resume();
    List<String> answers = answers(t);
    assertThat(answers).hasSize(3);
    assertThat(answers.get(1)).isEqualTo(SUPERSEDED);
    assertThat(answers.get(2)).contains("\"replay\":3");
    assertThat(countEventsAfterEachSubscribed(t)).containsExactly(3 + 1, 0, 3);
  }

  /**
   * Subscribes back to back, resumes and snapshots, against a client that reads or stalls at
   * random: every {@code subscribed} is followed by exactly the events its {@code replay} says.
   */
  @Test
  void replayIsExactForSubscribesBackToBackOverManySeeds() {
    for (long seed = 1; seed <= 200; seed++) {
      Random r = new Random(seed);
      InMemoryStream s = InMemoryStream.create(50);
      for (int i = 0; i < 80; i++) {
        s.publish("t" + r.nextInt(3), Map.of(), "{}");
      }
      Hub h = Hub.builder().bus(s).history(s).snapshotSize(r.nextInt(6)).build();
      hubs.add(h);
      InMemoryTransport t = new InMemoryTransport();
      Connection c = h.connect(t, Scope.all());
      List<Event> all = s.latest(80, Subscription.all());
      for (int step = 0; step < 30; step++) {
        int action = r.nextInt(10);
        if (action < 2) {
          t.stall();
        } else if (action < 4) {
          t.completeNext();
        } else if (action == 4) {
          t.resume();
        } else {
          Subscription sub = r.nextBoolean() ? Subscription.all()
              : Subscription.builder().topics("t" + r.nextInt(3)).build();
          EventId from = r.nextBoolean() ? null : all.get(r.nextInt(all.size())).id();
          c.subscribe(sub, from);
        }
      }
      t.resume();
      List<Integer> promised = new ArrayList<>();
      for (String f : answers(t)) {
        Matcher m = REPLAY.matcher(f);
        assertThat(m.find()).isTrue();
        promised.add(Integer.parseInt(m.group(1)));
      }
      assertThat(countEventsAfterEachSubscribed(t)).as("seed %d: %s", seed, t.frames())
          .isEqualTo(promised);
    }
  }

  /** For each {@code subscribed}, the events after it up to the next one (none are live here). */
  private static List<Integer> countEventsAfterEachSubscribed(InMemoryTransport t) {
    List<Integer> counts = new ArrayList<>();
    for (String f : t.frames()) {
      if (f.startsWith("{\"type\":\"subscribed\"")) {
        counts.add(0);
      } else if (!counts.isEmpty()) {
        int events = f.split("\\{\"type\":\"event\"", -1).length - 1;
        counts.set(counts.size() - 1, counts.get(counts.size() - 1) + events);
      }
    }
    return counts;
  }
}
