package dev.fanout.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Routing through the topic index delivers exactly what a brute-force scan of every
 * (scope, subscription) pair would deliver, over many random worlds.
 */
class RoutingPropertyTest {
  private static final String[] METHODS = {"card", "sepa", "wallet"};

  @Test
  void indexedRoutingEqualsBruteForceOverManySeeds() {
    for (long seed = 1; seed <= 300; seed++) {
      checkWorld(seed);
    }
  }

  private void checkWorld(long seed) {
    Random r = new Random(seed);
    int topics = 1 + r.nextInt(12);
    InMemoryStream stream = InMemoryStream.create(10_000);
    Hub hub = Hub.builder().bus(stream).snapshotSize(0).outboxCapacity(10_000).build();

    int connections = 1 + r.nextInt(30);
    List<Scope> scopes = new ArrayList<>();
    List<Subscription> subs = new ArrayList<>();
    List<InMemoryTransport> transports = new ArrayList<>();
    List<Connection> conns = new ArrayList<>();
    for (int i = 0; i < connections; i++) {
      Scope scope = r.nextInt(3) == 0 ? Scope.all() : Scope.of(randomTopics(r, topics));
      InMemoryTransport t = new InMemoryTransport();
      Connection c = hub.connect(t, scope);
      scopes.add(scope);
      transports.add(t);
      conns.add(c);
      subs.add(null);
    }
    int steps = 50 + r.nextInt(200);
    List<Event> published = new ArrayList<>();
    List<List<String>> expected = new ArrayList<>();
    for (int i = 0; i < connections; i++) {
      expected.add(new ArrayList<>());
    }
    for (int step = 0; step < steps; step++) {
      int action = r.nextInt(10);
      int who = r.nextInt(connections);
      if (action == 0) {
        Subscription s = randomSubscription(r, topics);
        conns.get(who).subscribe(s);
        subs.set(who, s);
      } else if (action == 1 && r.nextInt(4) == 0) {
        conns.get(who).close(1000, "bye");
      } else {
        String topic = "t" + r.nextInt(topics);
        EventId id = stream.publish(topic, Map.of("method", METHODS[r.nextInt(3)]), "{}");
        Event e = stream.latest(1, Subscription.all()).get(0);
        assertThat(e.id()).isEqualTo(id);
        published.add(e);
        for (int i = 0; i < connections; i++) {
          Subscription s = subs.get(i);
          if (conns.get(i).isOpen() && s != null && scopes.get(i).allows(e.topic())
              && s.matches(e)) {
            expected.get(i).add(id.toString());
          }
        }
      }
    }
    for (int i = 0; i < connections; i++) {
      assertThat(transports.get(i).eventIds())
          .as("seed %d connection %d scope %s sub %s", seed, i, scopes.get(i), subs.get(i))
          .isEqualTo(expected.get(i));
    }
  }

  private static Set<String> randomTopics(Random r, int topics) {
    Set<String> out = new HashSet<>();
    int n = r.nextInt(topics + 1);
    for (int i = 0; i < n; i++) {
      out.add("t" + r.nextInt(topics));
    }
    return out;
  }

  private static Subscription randomSubscription(Random r, int topics) {
    Subscription.Builder b = Subscription.builder();
    if (r.nextBoolean()) {
      b.topics(randomTopics(r, topics));
    }
    if (r.nextInt(3) == 0) {
      b.attribute("method", METHODS[r.nextInt(3)]);
    }
    if (r.nextInt(4) == 0) {
      int mod = 2 + r.nextInt(3);
      b.filter(e -> e.id().seq() % mod != 0);
    }
    return b.build();
  }
}
