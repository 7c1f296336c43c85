package dev.fanout.jwt;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSObject;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.Payload;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jca.JCAContext;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.OctetKeyPair;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.util.Arrays;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * Keys made for the tests and tokens signed with them by the JOSE library; every token made here
 * is remembered, and {@link TokensNeverLogged} searches the log for all of them.
 */
final class TestTokens {
  static final String SECRET = "a-shared-secret-of-32-bytes-or-more!";
  private static final List<String> USED = new CopyOnWriteArrayList<>();

  private TestTokens() {}

  /** Every token made so far. */
  static List<String> used() {
    return List.copyOf(USED);
  }

  /** Remembers a token made by hand, so the log is searched for it too. */
  static String record(String token) {
    if (token.length() >= 16) {
      USED.add(token);
    }
    return token;
  }

  /** A key pair of one algorithm, with a kid, as a JWK (public part) and as PEM. */
  static final class Key {
    final JwtAlgorithm algorithm;
    final String kid;
    final KeyPair pair;

    private Key(JwtAlgorithm algorithm, String kid, KeyPair pair) {
      this.algorithm = algorithm;
      this.kid = kid;
      this.pair = pair;
    }

    static Key rsa(String kid) {
      return new Key(JwtAlgorithm.RS256, kid, generate("RSA", g -> g.initialize(2048)));
    }

    static Key ec(String kid) {
      return new Key(JwtAlgorithm.ES256, kid, generate("EC", g -> {
        try {
          g.initialize(new ECGenParameterSpec("secp256r1"));
        } catch (GeneralSecurityException e) {
          throw new IllegalStateException(e);
        }
      }));
    }

    static Key ed25519(String kid) {
      return new Key(JwtAlgorithm.EdDSA, kid, generate("Ed25519", g -> { }));
    }

    static Key of(JwtAlgorithm algorithm, String kid) {
      switch (algorithm) {
        case RS256:
          return rsa(kid);
        case ES256:
          return ec(kid);
        case EdDSA:
          return ed25519(kid);
        default:
          throw new IllegalArgumentException(algorithm + " has no key pair");
      }
    }

    PublicKey publicKey() {
      return pair.getPublic();
    }

    String pem() {
      return "-----BEGIN PUBLIC KEY-----\n"
          + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
              .encodeToString(pair.getPublic().getEncoded())
          + "\n-----END PUBLIC KEY-----\n";
    }

    /** The public key as a JWKS entry. */
    JWK jwk() {
      switch (algorithm) {
        case RS256:
          return new RSAKey.Builder((RSAPublicKey) pair.getPublic()).keyID(kid).build();
        case ES256:
          return new ECKey.Builder(Curve.P_256, (ECPublicKey) pair.getPublic()).keyID(kid)
              .build();
        default:
          byte[] spki = pair.getPublic().getEncoded(); // the raw key is its last 32 bytes
          byte[] x = Arrays.copyOfRange(spki, spki.length - 32, spki.length);
          return new OctetKeyPair.Builder(Curve.Ed25519, Base64URL.encode(x)).keyID(kid)
              .build();
      }
    }

    JWSSigner signer() {
      try {
        switch (algorithm) {
          case RS256:
            return new RSASSASigner(pair.getPrivate());
          case ES256:
            return new ECDSASigner((ECPrivateKey) pair.getPrivate());
          default:
            return new JdkEd25519Signer(pair.getPrivate());
        }
      } catch (JOSEException e) {
        throw new IllegalStateException(e);
      }
    }

    /** A token signed with this key, its header naming this kid. */
    String sign(JWTClaimsSet claims) {
      return TestTokens.sign(new JWSHeader.Builder(algorithm.jose()).keyID(kid).build(), claims,
          signer());
    }

    private static KeyPair generate(String type, Consumer<KeyPairGenerator> init) {
      try {
        KeyPairGenerator g = KeyPairGenerator.getInstance(type);
        init.accept(g);
        return g.generateKeyPair();
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException(e);
      }
    }
  }

  /** Claims that a default authenticator accepts at {@code now}: a minute left, scope mch_1. */
  static JWTClaimsSet.Builder claims(Instant now) {
    return new JWTClaimsSet.Builder()
        .subject("ops-1")
        .issueTime(Date.from(now))
        .expirationTime(Date.from(now.plusSeconds(60)))
        .claim(ScopeClaim.DEFAULT_NAME, List.of("mch_1"));
  }

  /** An HS256 token with {@link #SECRET}. */
  static String hs256(JWTClaimsSet claims) {
    return hs256(new JWSHeader.Builder(JWSAlgorithm.HS256).build(), claims, SECRET.getBytes(
        StandardCharsets.UTF_8));
  }

  /** An HS256 token signed with any bytes as the secret (a public key's, for confusion). */
  static String hs256(JWSHeader header, JWTClaimsSet claims, byte[] secret) {
    try {
      return sign(header, claims, new MACSigner(secret));
    } catch (JOSEException e) {
      throw new IllegalStateException(e);
    }
  }

  static String sign(JWSHeader header, JWTClaimsSet claims, JWSSigner signer) {
    SignedJWT jwt = new SignedJWT(header, claims);
    try {
      jwt.sign(signer);
    } catch (JOSEException e) {
      throw new IllegalStateException(e);
    }
    return record(jwt.serialize());
  }

  /** An HS256 token with {@link #SECRET} over claims JSON as written (types no builder allows). */
  static String hs256Json(String claimsJson) {
    JWSObject jws = new JWSObject(new JWSHeader.Builder(JWSAlgorithm.HS256).build(),
        new Payload(claimsJson));
    try {
      jws.sign(new MACSigner(SECRET.getBytes(StandardCharsets.UTF_8)));
    } catch (JOSEException e) {
      throw new IllegalStateException(e);
    }
    return record(jws.serialize());
  }

  /** A token from raw header and claims JSON and a raw signature, for what no signer makes. */
  static String raw(String headerJson, JWTClaimsSet claims, String signature) {
    String header = Base64URL.encode(headerJson.getBytes(StandardCharsets.UTF_8)).toString();
    String payload = Base64URL.encode(claims.toString().getBytes(StandardCharsets.UTF_8))
        .toString();
    return record(header + "." + payload + "." + signature);
  }

  /** Ed25519 signing by the JDK (Nimbus's own signer needs Tink). */
  static final class JdkEd25519Signer implements JWSSigner {
    private final PrivateKey key;
    private final JCAContext jca = new JCAContext();

    JdkEd25519Signer(PrivateKey key) {
      this.key = key;
    }

    @Override
    public Base64URL sign(JWSHeader header, byte[] signingInput) throws JOSEException {
      try {
        Signature s = Signature.getInstance("Ed25519");
        s.initSign(key);
        s.update(signingInput);
        return Base64URL.encode(s.sign());
      } catch (GeneralSecurityException e) {
        throw new JOSEException(e.getMessage(), e);
      }
    }

    @Override
    public Set<JWSAlgorithm> supportedJWSAlgorithms() {
      return Set.of(JWSAlgorithm.EdDSA);
    }

    @Override
    public JCAContext getJCAContext() {
      return jca;
    }
  }
}
