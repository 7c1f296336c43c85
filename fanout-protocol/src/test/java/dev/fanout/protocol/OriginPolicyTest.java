package dev.fanout.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class OriginPolicyTest {
  private final OriginPolicy policy =
      new OriginPolicy(List.of("https://good.example", "http://localhost:8080"), true);

  @Test
  void acceptsExactOriginsInAnySpelling() {
    assertThat(policy.allows("https://good.example")).isTrue();
    assertThat(policy.allows("HTTPS://Good.Example:443")).isTrue();
    assertThat(policy.allows("http://localhost:8080")).isTrue();
  }

  @Test
  void rejectsLookAlikesAndOddities() {
    assertThat(policy.allows("https://good.example.evil.example")).isFalse();
    assertThat(policy.allows("https://evilgood.example")).isFalse();
    assertThat(policy.allows("http://good.example")).isFalse();
    assertThat(policy.allows("https://good.example:8443")).isFalse();
    assertThat(policy.allows("https://good.example/path")).isFalse();
    assertThat(policy.allows("https://user@good.example")).isFalse();
    assertThat(policy.allows("null")).isFalse();
    assertThat(policy.allows("http://localhost")).isFalse();
    assertThat(policy.allows("x".repeat(5000))).isFalse();
  }

  @Test
  void twoOriginHeadersAreRefusedWhateverTheySay() {
    assertThat(policy.allowsHeaders(List.of("https://good.example"))).isTrue();
    assertThat(policy.allowsHeaders(List.of("https://good.example", "https://good.example"))).isFalse();
    assertThat(policy.allowsHeaders(List.of("https://good.example", "https://evil.example"))).isFalse();
    assertThat(new OriginPolicy(List.of("*"), true).allowsHeaders(List.of("https://a", "https://b")))
        .isFalse();
    assertThat(policy.allowsHeaders(List.of())).as("none: the missing-origin setting").isTrue();
    assertThat(new OriginPolicy(List.of(), false).allowsHeaders(List.of())).isFalse();
  }

  @Test
  void missingOriginFollowsTheSetting() {
    assertThat(policy.allows(null)).isTrue();
    assertThat(new OriginPolicy(List.of(), false).allows(null)).isFalse();
    assertThat(new OriginPolicy(List.of("*"), false).allows("null")).isTrue();
  }

  @Test
  void configuredOriginsAreValidated() {
    assertThatThrownBy(() -> OriginPolicy.validate(List.of("good.example")))
        .hasMessageContaining("scheme://host");
    assertThatThrownBy(() -> OriginPolicy.validate(List.of("https://good.example/")))
        .hasMessageContaining("no path");
  }
}
