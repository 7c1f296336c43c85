package dev.fanout.jwt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fanout.protocol.Handshake;
import java.net.URI;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TokenSourcesTest {
  private static final String A = "aaaa.bbbb.cccc";
  private static final String B = "dddd.eeee.ffff";
  private final TokenSources defaults = TokenSources.defaults();

  private static Handshake handshake(String query, Object... headers) {
    Map<String, List<String>> h = new LinkedHashMap<>();
    for (int i = 0; i < headers.length; i += 2) {
      h.computeIfAbsent((String) headers[i], k -> new ArrayList<>())
          .add((String) headers[i + 1]);
    }
    return Handshake.of(URI.create("/ws" + (query == null ? "" : "?" + query)), h, null, null);
  }

  private static void token(TokenSources.Found f, String token) {
    assertThat(f.found()).as("%s", f).isTrue();
    assertThat(f.token()).isEqualTo(token);
    assertThat(f.refusal()).isNull();
  }

  private static void refused(TokenSources.Found f, JwtRefusal refusal) {
    assertThat(f.found()).isFalse();
    assertThat(f.token()).isNull();
    assertThat(f.refusal()).isEqualTo(refusal);
  }

  @Test
  void theBearerHeaderIsAlwaysRead() {
    token(defaults.find(handshake(null, "Authorization", "Bearer " + A)), A);
    token(defaults.find(handshake(null, "authorization", "bearer  " + A + " ")), A);
    token(TokenSources.bearerOnly().find(handshake(null, "Authorization", "Bearer " + A)), A);
  }

  @Test
  void otherAuthorizationSchemesAreNotTokens() {
    refused(defaults.find(handshake(null, "Authorization", "Basic b3BzOnB3")),
        JwtRefusal.TOKEN_MISSING);
    refused(defaults.find(handshake(null, "Authorization", "Bearerx" + A)),
        JwtRefusal.TOKEN_MISSING);
    token(defaults.find(handshake(null, "Authorization", "Basic b3BzOnB3",
        "Authorization", "Bearer " + A)), A);
  }

  @Test
  void theCookieIsReadAmongOthersQuotedOrNot() {
    token(defaults.find(handshake(null, "Cookie", "theme=dark; fanout_token=" + A + "; x=1")), A);
    token(defaults.find(handshake(null, "Cookie", "fanout_token=\"" + A + "\"")), A);
    token(defaults.find(handshake(null, "Cookie", "theme=dark", "Cookie", "fanout_token=" + A)),
        A); // HTTP/2 may split the Cookie header
    token(defaults.cookie("feed").find(handshake(null, "Cookie", "fanout_token=" + B
        + "; feed=" + A)), A);
    refused(TokenSources.bearerOnly().find(handshake(null, "Cookie", "fanout_token=" + A)),
        JwtRefusal.TOKEN_MISSING);
    refused(defaults.find(handshake(null, "Cookie", "xfanout_token=" + A + "; fanout_tokens=1")),
        JwtRefusal.TOKEN_MISSING);
  }

  @Test
  void emptyValuesCountAsAbsent() {
    token(defaults.find(handshake(null, "Cookie", "fanout_token=", "Authorization",
        "Bearer " + A)), A);
    refused(defaults.find(handshake(null, "Authorization", "Bearer ")), JwtRefusal.TOKEN_MISSING);
  }

  @Test
  void theQueryParameterIsReadOnlyWhenEnabledAndRefusedOtherwise() {
    refused(defaults.find(handshake("token=" + A)), JwtRefusal.TOKEN_IN_URL);
    refused(defaults.find(handshake("access_token=" + A)), JwtRefusal.TOKEN_IN_URL);
    refused(defaults.find(handshake("token=" + A, "Authorization", "Bearer " + B)),
        JwtRefusal.TOKEN_IN_URL);
    token(defaults.queryParameter("token").find(handshake("token=" + A)), A);
    token(defaults.queryParameter("t").find(handshake("other=1&t=" + A)), A);
    refused(defaults.find(handshake("other=1")), JwtRefusal.TOKEN_MISSING);
  }

  @Test
  void twoTokensAreAmbiguousWhateverTheirSourcesAndEvenWhenEqual() {
    TokenSources all = defaults.queryParameter("token");
    refused(all.find(handshake(null, "Authorization", "Bearer " + A, "Authorization",
        "Bearer " + B)), JwtRefusal.AMBIGUOUS_TOKEN);
    refused(all.find(handshake(null, "Authorization", "Bearer " + A + ", Bearer " + B)),
        JwtRefusal.AMBIGUOUS_TOKEN);
    refused(all.find(handshake(null, "Cookie", "fanout_token=" + A + "; fanout_token=" + B)),
        JwtRefusal.AMBIGUOUS_TOKEN);
    refused(all.find(handshake(null, "Authorization", "Bearer " + A, "Cookie",
        "fanout_token=" + A)), JwtRefusal.AMBIGUOUS_TOKEN);
    refused(all.find(handshake("token=" + A, "Cookie", "fanout_token=" + B)),
        JwtRefusal.AMBIGUOUS_TOKEN);
    refused(all.find(handshake("token=" + A + "&token=" + A)), JwtRefusal.AMBIGUOUS_TOKEN);
  }

  @Test
  void aTokenOverTheLimitIsRefusedWhateverElseIsWrongWithIt() {
    String big = "x".repeat(TokenSources.DEFAULT_MAX_TOKEN_BYTES + 1);
    refused(defaults.find(handshake(null, "Authorization", "Bearer " + big)),
        JwtRefusal.TOKEN_TOO_LARGE);
    refused(defaults.find(handshake(null, "Authorization", "Bearer " + big, "Cookie",
        "fanout_token=" + A)), JwtRefusal.TOKEN_TOO_LARGE);
    token(defaults.find(handshake(null, "Authorization", "Bearer " + big.substring(1))),
        big.substring(1));
    refused(defaults.maxTokenBytes(10).find(handshake(null, "Cookie", "fanout_token=" + A)),
        JwtRefusal.TOKEN_TOO_LARGE);
  }

  @Test
  void settingsAreCheckedAndReadable() {
    assertThat(defaults.cookieName()).contains("fanout_token");
    assertThat(defaults.queryParameterName()).isEmpty();
    assertThat(defaults.maxTokenBytes()).isEqualTo(8192);
    TokenSources s = defaults.noCookie().queryParameter("t").maxTokenBytes(4096);
    assertThat(s.cookieName()).isEmpty();
    assertThat(s.queryParameterName()).contains("t");
    assertThat(s.maxTokenBytes()).isEqualTo(4096);
    assertThatThrownBy(() -> defaults.cookie("a b")).hasMessageContaining("cookie name");
    assertThatThrownBy(() -> defaults.cookie("")).hasMessageContaining("cookie name");
    assertThatThrownBy(() -> defaults.maxTokenBytes(0)).hasMessageContaining("1 to 65536");
    assertThatThrownBy(() -> defaults.maxTokenBytes(65537)).hasMessageContaining("1 to 65536");
  }

  @Test
  void whatIsFoundNeverShowsTheToken() {
    assertThat(defaults.find(handshake(null, "Authorization", "Bearer " + A)).toString())
        .doesNotContain(A);
  }
}
