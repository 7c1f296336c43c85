package dev.fanout.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SubscriptionTest {
  private static Event event(String topic, String method) {
    return Event.of(EventId.of("e", 1), topic, Map.of("method", method), "{}");
  }

  @Test
  void matchesTopicsAttributesAndFilter() {
    Subscription s = Subscription.builder()
        .topics("m1", "m2")
        .attribute("method", "card")
        .filter(e -> !e.topic().equals("m2"))
        .build();
    assertThat(s.matches(event("m1", "card"))).isTrue();
    assertThat(s.matches(event("m1", "sepa"))).isFalse();
    assertThat(s.matches(event("m3", "card"))).isFalse();
    assertThat(s.matches(event("m2", "card"))).isFalse();
  }

  @Test
  void anEventWithoutAConstrainedAttributeDoesNotMatch() {
    Subscription s = Subscription.builder().attribute("method", "card").build();
    assertThat(s.matches(Event.of(EventId.of("e", 1), "m1", Map.of(), "{}"))).isFalse();
  }

  @Test
  void emptyListsMeanEverything() {
    Subscription s = Subscription.builder().topics(List.of())
        .attribute("method", List.of()).build();
    assertThat(s).isSameAs(Subscription.all());
    assertThat(s.allTopics()).isTrue();
    assertThat(s.matches(event("any", "any"))).isTrue();
  }

  @Test
  void restrictingToAScopeNeverWidens() {
    Scope scope = Scope.of("m1", "m2");
    Subscription all = Subscription.all().restrictTo(scope);
    assertThat(all.allTopics()).isFalse();
    assertThat(all.topics()).containsExactlyInAnyOrder("m1", "m2");

    Subscription some = Subscription.builder().topics("m2", "m3").build().restrictTo(scope);
    assertThat(some.topics()).containsExactly("m2");
    assertThat(some.matches(event("m3", "card"))).isFalse();

    Subscription none = Subscription.builder().topics("m9").build().restrictTo(scope);
    assertThat(none.allTopics()).isFalse();
    assertThat(none.topics()).isEmpty();
    assertThat(none.matches(event("m9", "card"))).isFalse();

    assertThat(Subscription.all().restrictTo(Scope.all())).isSameAs(Subscription.all());
    assertThat(Subscription.all().restrictTo(Scope.none()).matches(event("m1", "x"))).isFalse();
  }

  @Test
  void rejectsBadInputEagerly() {
    assertThatThrownBy(() -> Subscription.builder().topics("")).hasMessageContaining("topic");
    assertThatThrownBy(() -> Event.of(EventId.of("e", 1), "t", Map.of(), " "))
        .hasMessageContaining("JSON");
  }
}
