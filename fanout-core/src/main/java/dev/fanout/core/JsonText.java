package dev.fanout.core;

/**
 * Checks that text is exactly one JSON value (RFC 8259), with optional white space around it:
 * what an event's data must be, since frames paste it in verbatim. A check, not a parser: it
 * allocates nothing. Nesting deeper than {@value #MAX_DEPTH} is refused (Redis's cjson, which
 * checks at publish, has the same bound).
 */
final class JsonText {
  static final int MAX_DEPTH = 1000;

  private final String s;
  private int i;

  private JsonText(String s) {
    this.s = s;
  }

  static boolean isOneValue(String text) {
    if (text == null) {
      return false;
    }
    JsonText t = new JsonText(text);
    try {
      t.space();
      t.value(0);
      t.space();
      return t.i == text.length();
    } catch (Invalid e) {
      return false;
    }
  }

  private void value(int depth) {
    if (i >= s.length()) {
      throw Invalid.INSTANCE;
    }
    char c = s.charAt(i);
    switch (c) {
      case '{' -> object(depth + 1);
      case '[' -> array(depth + 1);
      case '"' -> string();
      case 't' -> literal("true");
      case 'f' -> literal("false");
      case 'n' -> literal("null");
      default -> number();
    }
  }

  private void object(int depth) {
    if (depth > MAX_DEPTH) {
      throw Invalid.INSTANCE;
    }
    i++; // {
    space();
    if (peek() == '}') {
      i++;
      return;
    }
    while (true) {
      space();
      if (peek() != '"') {
        throw Invalid.INSTANCE;
      }
      string();
      space();
      expect(':');
      space();
      value(depth);
      space();
      char c = next();
      if (c == '}') {
        return;
      }
      if (c != ',') {
        throw Invalid.INSTANCE;
      }
    }
  }

  private void array(int depth) {
    if (depth > MAX_DEPTH) {
      throw Invalid.INSTANCE;
    }
    i++; // [
    space();
    if (peek() == ']') {
      i++;
      return;
    }
    while (true) {
      space();
      value(depth);
      space();
      char c = next();
      if (c == ']') {
        return;
      }
      if (c != ',') {
        throw Invalid.INSTANCE;
      }
    }
  }

  private void string() {
    i++; // opening quote
    while (true) {
      char c = next();
      if (c == '"') {
        return;
      }
      if (c < 0x20) {
        throw Invalid.INSTANCE; // raw control characters must be escaped
      }
      if (c == '\\') {
        char e = next();
        if (e == 'u') {
          for (int k = 0; k < 4; k++) {
            if (Character.digit(next(), 16) < 0) {
              throw Invalid.INSTANCE;
            }
          }
        } else if ("\"\\/bfnrt".indexOf(e) < 0) {
          throw Invalid.INSTANCE;
        }
      }
    }
  }

  private void number() {
    if (peek() == '-') {
      i++;
    }
    char first = next();
    if (first == '0') {
      if (isDigit(peek())) {
        throw Invalid.INSTANCE; // no leading zeros
      }
    } else if (first >= '1' && first <= '9') {
      digits();
    } else {
      throw Invalid.INSTANCE;
    }
    if (peek() == '.') {
      i++;
      requireDigit();
      digits();
    }
    if (peek() == 'e' || peek() == 'E') {
      i++;
      if (peek() == '+' || peek() == '-') {
        i++;
      }
      requireDigit();
      digits();
    }
  }

  private void literal(String word) {
    if (!s.startsWith(word, i)) {
      throw Invalid.INSTANCE;
    }
    i += word.length();
  }

  private void digits() {
    while (isDigit(peek())) {
      i++;
    }
  }

  private void requireDigit() {
    if (!isDigit(peek())) {
      throw Invalid.INSTANCE;
    }
  }

  private void space() {
    while (i < s.length()) {
      char c = s.charAt(i);
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
        return;
      }
      i++;
    }
  }

  private void expect(char c) {
    if (next() != c) {
      throw Invalid.INSTANCE;
    }
  }

  private char peek() {
    return i < s.length() ? s.charAt(i) : '\0';
  }

  private char next() {
    if (i >= s.length()) {
      throw Invalid.INSTANCE;
    }
    return s.charAt(i++);
  }

  private static boolean isDigit(char c) {
    return c >= '0' && c <= '9';
  }

  /** Not JSON; thrown without a stack trace, caught in {@link #isOneValue}. */
  private static final class Invalid extends RuntimeException {
    static final Invalid INSTANCE = new Invalid();

    private Invalid() {
      super(null, null, false, false);
    }
  }
}
