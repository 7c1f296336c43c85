package dev.fanout.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ClientMessageTest {
  private static final ClientMessage.Limits LIMITS = new ClientMessage.Limits(3, 2, 2);
  private static final Vocabulary PAYMENTS =
      new Vocabulary(Set.of("merchants"), Map.of("methods", "method"));

  private static ClientMessage parse(String text) throws ClientMessage.ProtocolError {
    return ClientMessage.parse(text, LIMITS, PAYMENTS);
  }

  private static String errorCode(String text) {
    return catchThrowableOfType(ClientMessage.ProtocolError.class, () -> parse(text)).code.wire();
  }

  @Test
  void parsesAFullGenericSubscribe() throws Exception {
    ClientMessage m = ClientMessage.parse("{\"type\":\"subscribe\",\"topics\":[\"a\",\"b\"],"
        + "\"filters\":{\"status\":[\"paid\"],\"method\":[\"card\",\"sepa\"]},"
        + "\"lastEventId\":\"ep:7\",\"future\":{\"x\":[1]}}", LIMITS, Vocabulary.GENERIC);
    assertThat(m.topics).containsExactly("a", "b");
    assertThat(m.filters).isEqualTo(Map.of("status", List.of("paid"),
        "method", List.of("card", "sepa")));
    assertThat(m.lastEventId.toString()).isEqualTo("ep:7");
  }

  @Test
  void thePaymentFormMeansTheSameAsTheGenericOne() throws Exception {
    ClientMessage payment = parse("{\"type\":\"subscribe\",\"merchants\":[\"a\",\"b\"],"
        + "\"methods\":[\"card\"],\"lastEventId\":\"ep:7\"}");
    ClientMessage generic = parse("{\"type\":\"subscribe\",\"topics\":[\"a\",\"b\"],"
        + "\"filters\":{\"method\":[\"card\"]},\"lastEventId\":\"ep:7\"}");
    assertThat(payment.topics).isEqualTo(generic.topics).containsExactly("a", "b");
    assertThat(payment.filters).isEqualTo(generic.filters)
        .isEqualTo(Map.of("method", List.of("card")));
    assertThat(payment.lastEventId).isEqualTo(generic.lastEventId);
  }

  @Test
  void withoutAliasesTheirFieldsAreUnknownAndIgnored() throws Exception {
    ClientMessage m = ClientMessage.parse("{\"type\":\"subscribe\",\"merchants\":[\"a\"],"
        + "\"methods\":[\"card\"]}", LIMITS, Vocabulary.GENERIC);
    assertThat(m.topics).isEmpty();
    assertThat(m.filters).isEmpty();
  }

  @Test
  void aFieldAndItsAliasTogetherAreABadRequest() {
    assertThat(errorCode("{\"type\":\"subscribe\",\"topics\":[\"a\"],\"merchants\":[\"b\"]}"))
        .isEqualTo("bad_request");
    assertThat(errorCode("{\"type\":\"subscribe\",\"methods\":[\"a\"],"
        + "\"filters\":{\"method\":[\"b\"]}}")).isEqualTo("bad_request");
  }

  @Test
  void absentAndNullListsMeanAll() throws Exception {
    ClientMessage m = parse("{\"type\":\"subscribe\",\"merchants\":null,\"methods\":[],"
        + "\"filters\":{\"status\":null},\"lastEventId\":null}");
    assertThat(m.topics).isEmpty();
    assertThat(m.filters).isEmpty();
    assertThat(m.lastEventId).isNull();
  }

  @Test
  void limitsAreEnforced() {
    assertThat(errorCode("{\"type\":\"subscribe\",\"topics\":[\"a\",\"b\",\"c\",\"d\"]}"))
        .isEqualTo("too_many");
    assertThat(errorCode("{\"type\":\"subscribe\",\"methods\":[\"a\",\"b\",\"c\"]}"))
        .isEqualTo("too_many");
    assertThat(errorCode("{\"type\":\"subscribe\",\"filters\":{\"a\":[\"1\"],\"b\":[\"1\"],"
        + "\"c\":[\"1\"]}}")).isEqualTo("too_many");
    assertThat(errorCode("{\"type\":\"subscribe\",\"merchants\":[\"" + "x".repeat(129) + "\"]}"))
        .isEqualTo("bad_request");
    assertThat(errorCode("{\"type\":\"subscribe\",\"filters\":{\"" + "x".repeat(129)
        + "\":[\"1\"]}}")).isEqualTo("bad_request");
    assertThat(errorCode("{\"type\":\"subscribe\",\"filters\":[\"method\"]}"))
        .isEqualTo("bad_request");
    assertThat(errorCode("{\"type\":\"subscribe\",\"deep\":[[[[[[1]]]]]]}"))
        .isEqualTo("bad_request");
  }

  @Test
  void lastEventIdTakesAPositionOverPartitionsAndRefusesAMalformedOne() throws Exception {
    ClientMessage m = ClientMessage.parse("{\"type\":\"subscribe\",\"lastEventId\":"
        + "\"0.k7Qm2x:12,3.Pq81Zr:40\"}", LIMITS, Vocabulary.GENERIC);
    assertThat(m.lastEventId.ids()).hasSize(2);
    assertThat(m.lastEventId.get(3).toString()).isEqualTo("3.Pq81Zr:40");
    for (String bad : new String[] {"0.a:1,0.b:2", "0.a:1,b:2", "0.a:1,", ",0.a:1", "01.a:1"}) {
      ClientMessage.ProtocolError e = catchThrowableOfType(ClientMessage.ProtocolError.class,
          () -> parse("{\"type\":\"subscribe\",\"lastEventId\":\"" + bad + "\"}"));
      assertThat(e).as(bad).isNotNull();
      assertThat(e.code).as(bad).isEqualTo(ErrorCode.BAD_REQUEST);
      assertThat(e.getMessage()).as(bad).startsWith("lastEventId: ");
    }
  }

  @Test
  void malformedInputIsABadRequestWithAMessage() {
    for (String bad : new String[] {"", "{", "nul", "{\"type\":\"subscribe\",}", "\"subscribe\"",
        "{\"type\":\"subscribe\"}{}", "{\"type\":\"subscribe\",\"lastEventId\":\"1:1:1\"}"}) {
      ClientMessage.ProtocolError e =
          catchThrowableOfType(ClientMessage.ProtocolError.class, () -> parse(bad));
      assertThat(e).as(bad).isNotNull();
      assertThat(e.code).as(bad).isEqualTo(ErrorCode.BAD_REQUEST);
      assertThat(e.getMessage()).isNotBlank()
          .doesNotContain("gson", "Exception", "http", "path $"); // no parser internals
    }
    assertThat(catchThrowableOfType(ClientMessage.ProtocolError.class,
        () -> parse("{\"type\":\"subscribe\",}")).getMessage())
        .isEqualTo("malformed JSON at line 1 column 22");
    assertThat(errorCode("{\"type\":\"ping\"}")).isEqualTo("unknown_type");
  }
}
