package dev.fanout.jwt;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.jca.JCAContext;
import com.nimbusds.jose.util.Base64URL;
import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.security.Signature;
import java.security.SignatureException;
import java.util.Set;

/**
 * EdDSA (Ed25519) verification by the JDK's own provider (Java 15+), instead of Nimbus's
 * Ed25519Verifier, which needs Google Tink (and its protobuf) on the class path. Thread-safe: a
 * {@link Signature} per call.
 */
final class JdkEd25519Verifier implements JWSVerifier {
  private static final int SIGNATURE_BYTES = 64;

  private final PublicKey key;
  private final JCAContext jca = new JCAContext();

  JdkEd25519Verifier(PublicKey key) {
    this.key = key;
  }

  @Override
  public Set<JWSAlgorithm> supportedJWSAlgorithms() {
    return Set.of(JWSAlgorithm.EdDSA);
  }

  @Override
  public JCAContext getJCAContext() {
    return jca;
  }

  @Override
  public boolean verify(JWSHeader header, byte[] signingInput, Base64URL signature)
      throws JOSEException {
    if (!JWSAlgorithm.EdDSA.equals(header.getAlgorithm())) {
      return false;
    }
    byte[] sig = signature.decode();
    if (sig.length != SIGNATURE_BYTES) {
      return false;
    }
    try {
      Signature s = Signature.getInstance("Ed25519");
      s.initVerify(key);
      s.update(signingInput);
      return s.verify(sig);
    } catch (SignatureException e) {
      return false;
    } catch (GeneralSecurityException e) {
      throw new JOSEException("Ed25519 verification is not available: " + e.getMessage(), e);
    }
  }
}
