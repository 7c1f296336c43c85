package dev.fanout.jwt;

import com.nimbusds.jose.JWSAlgorithm;

/**
 * The signature algorithms a {@link JwtAuthenticator} can be pinned to. The constants are named
 * as JOSE names them (RFC 7518, RFC 8037), so {@code JwtAlgorithm.valueOf("EdDSA")} reads a
 * configuration value as written. A token whose {@code alg} header is not one of the pinned
 * algorithms is refused before its signature is looked at.
 */
public enum JwtAlgorithm {
  /** HMAC with SHA-256 and a shared secret of at least 32 bytes. */
  HS256(JWSAlgorithm.HS256),
  /** RSASSA-PKCS1-v1_5 with SHA-256; RSA keys of at least 2048 bits. */
  RS256(JWSAlgorithm.RS256),
  /** ECDSA on P-256 with SHA-256. */
  ES256(JWSAlgorithm.ES256),
  /** Ed25519 (RFC 8037's {@code EdDSA} with {@code crv: Ed25519}), verified by the JDK. */
  EdDSA(JWSAlgorithm.EdDSA);

  private final JWSAlgorithm jose;

  JwtAlgorithm(JWSAlgorithm jose) {
    this.jose = jose;
  }

  /** Whether the algorithm needs a shared secret rather than a public key. */
  public boolean symmetric() {
    return this == HS256;
  }

  JWSAlgorithm jose() {
    return jose;
  }

  /** The pinned algorithm named by a token's {@code alg} header, or null for any other. */
  static JwtAlgorithm of(JWSAlgorithm alg) {
    for (JwtAlgorithm a : values()) {
      if (a.jose.equals(alg)) {
        return a;
      }
    }
    return null;
  }
}
