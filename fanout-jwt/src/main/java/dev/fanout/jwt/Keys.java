package dev.fanout.jwt;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.crypto.MACVerifier;
import com.nimbusds.jose.crypto.RSASSAVerifier;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.OctetKeyPair;
import com.nimbusds.jose.jwk.RSAKey;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.EdECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import java.util.Set;

/** Turns configured key material (a secret, PEM text, a JWK) into {@link SigningKey}s. */
final class Keys {
  static final int MIN_SECRET_BYTES = 32; // RFC 7518 3.2: a key as long as the hash
  static final int MIN_RSA_BITS = 2048; // RFC 7518 3.3
  /** An Ed25519 SubjectPublicKeyInfo before its 32 key bytes (RFC 8410: OID 1.3.101.112). */
  private static final String PEM_BEGIN = "-----BEGIN PUBLIC KEY-----";
  private static final String PEM_END = "-----END PUBLIC KEY-----";
  private static final byte[] ED25519_SPKI_PREFIX = {
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};

  private Keys() {}

  static SigningKey secret(byte[] secret) {
    try {
      return new SigningKey(JwtAlgorithm.HS256, new MACVerifier(secret));
    } catch (JOSEException e) { // checked by the builder: at least 32 bytes
      throw new IllegalArgumentException("unusable HS256 secret: " + e.getMessage(), e);
    }
  }

  /**
   * A public key from PEM text {@code -----BEGIN PUBLIC KEY-----} (SubjectPublicKeyInfo: RSA,
   * EC P-256 or Ed25519), or an exception saying how to get one.
   */
  static PublicKey pem(String pem) {
    String text = pem.strip();
    if (text.startsWith("-----BEGIN RSA PUBLIC KEY-----")) {
      throw new IllegalArgumentException("a PKCS#1 RSA key: convert it to a PUBLIC KEY with "
          + "'openssl rsa -RSAPublicKey_in -in key.pem -pubout'");
    }
    if (text.startsWith("-----BEGIN CERTIFICATE-----")) {
      throw new IllegalArgumentException("a certificate: take its public key with "
          + "'openssl x509 -in cert.pem -pubkey -noout'");
    }
    if (!text.startsWith(PEM_BEGIN) || !text.endsWith(PEM_END)) {
      throw new IllegalArgumentException("the public key must be PEM text from "
          + PEM_BEGIN + " to " + PEM_END);
    }
    byte[] der;
    try {
      der = Base64.getMimeDecoder().decode(text.substring(PEM_BEGIN.length(),
          text.length() - PEM_END.length()));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("the PEM public key is not valid base64", e);
    }
    for (String type : new String[] {"RSA", "EC", "Ed25519"}) {
      try {
        return KeyFactory.getInstance(type).generatePublic(new X509EncodedKeySpec(der));
      } catch (GeneralSecurityException notThisType) {
        // try the next
      }
    }
    throw new IllegalArgumentException("the PEM public key is not an RSA, EC or Ed25519 key");
  }

  /** The one algorithm a public key verifies, or an exception saying what is wrong with it. */
  static JwtAlgorithm algorithmOf(PublicKey key) {
    if (key instanceof RSAPublicKey) {
      int bits = ((RSAPublicKey) key).getModulus().bitLength();
      if (bits < MIN_RSA_BITS) {
        throw new IllegalArgumentException("the RSA public key has " + bits
            + " bits; RS256 needs at least " + MIN_RSA_BITS);
      }
      return JwtAlgorithm.RS256;
    }
    if (key instanceof ECPublicKey) {
      if (!Curve.P_256.equals(Curve.forECParameterSpec(((ECPublicKey) key).getParams()))) {
        throw new IllegalArgumentException("the EC public key must be on P-256 for ES256");
      }
      return JwtAlgorithm.ES256;
    }
    if (key instanceof EdECPublicKey && "Ed25519".equalsIgnoreCase(
        ((EdECPublicKey) key).getParams().getName())) {
      return JwtAlgorithm.EdDSA;
    }
    throw new IllegalArgumentException("unsupported public key " + key.getAlgorithm()
        + ": use RSA (RS256), EC P-256 (ES256) or Ed25519 (EdDSA)");
  }

  /** The key for its one algorithm ({@link #algorithmOf}). */
  static SigningKey publicKey(PublicKey key) {
    JwtAlgorithm algorithm = algorithmOf(key);
    JWSVerifier verifier;
    try {
      switch (algorithm) {
        case RS256:
          verifier = new RSASSAVerifier((RSAPublicKey) key);
          break;
        case ES256:
          verifier = new ECDSAVerifier((ECPublicKey) key);
          break;
        default:
          verifier = new JdkEd25519Verifier(key);
      }
    } catch (JOSEException e) {
      throw new IllegalArgumentException("unusable public key: " + e.getMessage(), e);
    }
    return new SigningKey(algorithm, verifier);
  }

  /**
   * A JWKS entry as a key for one of {@code algorithms}, or null when it is not a signing key
   * for them ({@code use} other than {@code sig}, an {@code alg} not pinned, a key type or curve
   * the pinned algorithms do not use, a private or symmetric key, an RSA key under 2048 bits).
   */
  static SigningKey jwk(JWK jwk, Set<JwtAlgorithm> algorithms) throws JOSEException {
    if (jwk.getKeyUse() != null && !KeyUse.SIGNATURE.equals(jwk.getKeyUse())) {
      return null;
    }
    PublicKey key;
    if (jwk instanceof RSAKey) {
      key = ((RSAKey) jwk).toRSAPublicKey();
    } else if (jwk instanceof ECKey && Curve.P_256.equals(((ECKey) jwk).getCurve())) {
      key = ((ECKey) jwk).toECPublicKey();
    } else if (jwk instanceof OctetKeyPair
        && Curve.Ed25519.equals(((OctetKeyPair) jwk).getCurve())) {
      key = ed25519(((OctetKeyPair) jwk).getX().decode());
    } else {
      return null; // oct (a secret has no place in a JWKS), other curves, unknown types
    }
    if (key == null || jwk.isPrivate()) {
      return null;
    }
    SigningKey signing;
    try {
      signing = publicKey(key);
    } catch (IllegalArgumentException weak) {
      return null;
    }
    boolean algOk = jwk.getAlgorithm() == null
        || signing.algorithm().jose().equals(jwk.getAlgorithm());
    return algOk && algorithms.contains(signing.algorithm()) ? signing : null;
  }

  /** An Ed25519 public key from its 32 raw bytes (a JWK's {@code x}), or null. */
  private static PublicKey ed25519(byte[] x) {
    if (x.length != 32) {
      return null;
    }
    byte[] spki = new byte[ED25519_SPKI_PREFIX.length + 32];
    System.arraycopy(ED25519_SPKI_PREFIX, 0, spki, 0, ED25519_SPKI_PREFIX.length);
    System.arraycopy(x, 0, spki, ED25519_SPKI_PREFIX.length, 32);
    try {
      return KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(spki));
    } catch (GeneralSecurityException e) {
      return null;
    }
  }
}
