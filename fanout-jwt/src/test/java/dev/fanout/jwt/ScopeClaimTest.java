package dev.fanout.jwt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fanout.core.Scope;
import dev.fanout.protocol.Authentication;
import java.time.Instant;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ScopeClaimTest {
  private static final Instant EXP = Instant.ofEpochSecond(1_800_000_060L);
  private final ScopeClaim merchants = ScopeClaim.named("merchants");

  private Authentication map(Object value) {
    Map<String, Object> claims = new HashMap<>();
    claims.put("sub", "ops-1");
    claims.put("merchants", value);
    return merchants.authentication(claims, EXP);
  }

  @Test
  void aListOfTopicsGrantsExactlyThoseUntilTheExpiry() {
    Authentication a = map(List.of("mch_1"));
    assertThat(a.allowed()).isTrue();
    assertThat(a.principal()).isEqualTo("ops-1");
    assertThat(a.scope()).isEqualTo(Scope.of("mch_1"));
    assertThat(a.expiresAt()).isEqualTo(EXP);
    assertThat(map(List.of("mch_1", "mch_2", "mch_1")).scope())
        .isEqualTo(Scope.of("mch_1", "mch_2"));
  }

  @Test
  void theStarAsAStringOrAsTheOnlyElementGrantsEverything() {
    assertThat(map("*").scope()).isEqualTo(Scope.all());
    assertThat(map(List.of("*")).scope()).isEqualTo(Scope.all());
  }

  @Test
  void noClaimOrAnEmptyListGrantsNothingAndIsForbidden() {
    assertThat(map(List.of())).satisfies(a -> refused(a, JwtRefusal.NO_TOPICS, 403));
    Authentication absent = merchants.authentication(Map.of("sub", "ops-1"), EXP);
    refused(absent, JwtRefusal.NO_TOPICS, 403);
  }

  @Test
  void everyOtherShapeIsAnInvalidScopeClaim() {
    for (Object wrong : Arrays.asList("mch_1", "mch_1 mch_2", "", 42, true, Map.of("a", 1),
        null, List.of(1), List.of("mch_1", 2), List.of(""), Arrays.asList("mch_1", null),
        List.of("*", "mch_1"), List.of(List.of("mch_1")))) {
      refused(map(wrong), JwtRefusal.INVALID_SCOPE_CLAIM, 403);
    }
  }

  @Test
  void theSubjectIsRequiredAndMustBeAShortPrintableString() {
    for (Object sub : Arrays.asList(null, "", 7, List.of("a"), "x".repeat(257), "ops\n1")) {
      Map<String, Object> claims = new HashMap<>();
      claims.put("sub", sub);
      claims.put("merchants", "*");
      refused(merchants.authentication(claims, EXP), JwtRefusal.INVALID_TOKEN, 401);
    }
    assertThat(merchants.authentication(Map.of("sub", "x".repeat(256), "merchants", "*"), EXP)
        .allowed()).isTrue();
  }

  @Test
  void withoutAnExpiryTheConnectionIsNotTimed() {
    Authentication a = merchants.authentication(Map.of("sub", "svc", "merchants", "*"), null);
    assertThat(a.allowed()).isTrue();
    assertThat(a.expiresAt()).isNull();
  }

  @Test
  void aBlankNameIsRefusedWithWhatToFix() {
    assertThatThrownBy(() -> ScopeClaim.named(" "))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("scope claim name");
    assertThat(ScopeClaim.named("merchants").name()).isEqualTo("merchants");
  }

  static void refused(Authentication a, JwtRefusal refusal, int status) {
    assertThat(a.allowed()).as("%s", a).isFalse();
    assertThat(a.reason()).isEqualTo(refusal.reason());
    assertThat(a.status()).isEqualTo(status);
  }
}
