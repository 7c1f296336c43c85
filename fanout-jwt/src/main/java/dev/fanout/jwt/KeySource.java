package dev.fanout.jwt;

/** Where a token's verification key comes from: one fixed key, or a JWKS. Thread-safe. */
interface KeySource {

  /**
   * The key for a token signed with {@code algorithm} under {@code kid} (null when the token
   * names none), or null when there is none. May wait, boundedly, for a JWKS refresh.
   */
  SigningKey find(JwtAlgorithm algorithm, String kid);

  /** One key, whatever the {@code kid}: a shared secret or a configured public key. */
  static KeySource fixed(SigningKey key) {
    return (algorithm, kid) -> key.algorithm() == algorithm ? key : null;
  }
}
