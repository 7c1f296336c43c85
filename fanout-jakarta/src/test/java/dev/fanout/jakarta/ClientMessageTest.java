package dev.fanout.jakarta;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import org.junit.jupiter.api.Test;

class ClientMessageTest {
  private static ClientMessage parse(String text) throws ClientMessage.ProtocolError {
    return ClientMessage.parse(text, 3, 2);
  }

  private static String errorCode(String text) {
    return catchThrowableOfType(ClientMessage.ProtocolError.class, () -> parse(text)).code;
  }

  @Test
  void parsesAFullSubscribe() throws Exception {
    ClientMessage m = parse("{\"type\":\"subscribe\",\"merchants\":[\"a\",\"b\"],"
        + "\"methods\":[\"card\"],\"lastEventId\":\"ep:7\",\"future\":{\"x\":[1]}}");
    assertThat(m.merchants).containsExactly("a", "b");
    assertThat(m.methods).containsExactly("card");
    assertThat(m.lastEventId.toString()).isEqualTo("ep:7");
  }

  @Test
  void absentAndNullListsMeanAll() throws Exception {
    ClientMessage m = parse("{\"type\":\"subscribe\",\"merchants\":null,\"lastEventId\":null}");
    assertThat(m.merchants).isEmpty();
    assertThat(m.methods).isEmpty();
    assertThat(m.lastEventId).isNull();
  }

  @Test
  void limitsAreEnforced() {
    assertThat(errorCode("{\"type\":\"subscribe\",\"merchants\":[\"a\",\"b\",\"c\",\"d\"]}"))
        .isEqualTo("too_many");
    assertThat(errorCode("{\"type\":\"subscribe\",\"methods\":[\"a\",\"b\",\"c\"]}"))
        .isEqualTo("too_many");
    assertThat(errorCode("{\"type\":\"subscribe\",\"merchants\":[\"" + "x".repeat(129) + "\"]}"))
        .isEqualTo("bad_request");
    assertThat(errorCode("{\"type\":\"subscribe\",\"deep\":[[[[[[1]]]]]]}")).isEqualTo("bad_request");
  }

  @Test
  void malformedInputIsABadRequestWithAMessage() {
    for (String bad : new String[] {"", "{", "nul", "{\"type\":\"subscribe\",}", "\"subscribe\"",
        "{\"type\":\"subscribe\"}{}", "{\"type\":\"subscribe\",\"lastEventId\":\"1:1:1\"}"}) {
      ClientMessage.ProtocolError e =
          catchThrowableOfType(ClientMessage.ProtocolError.class, () -> parse(bad));
      assertThat(e).as(bad).isNotNull();
      assertThat(e.code).as(bad).isEqualTo("bad_request");
      assertThat(e.getMessage()).isNotBlank()
          .doesNotContain("gson", "Exception", "http", "path $"); // no parser internals
    }
    assertThat(catchThrowableOfType(ClientMessage.ProtocolError.class,
        () -> parse("{\"type\":\"subscribe\",}")).getMessage())
        .isEqualTo("malformed JSON at line 1 column 22");
    assertThat(errorCode("{\"type\":\"ping\"}")).isEqualTo("unknown_type");
  }
}
