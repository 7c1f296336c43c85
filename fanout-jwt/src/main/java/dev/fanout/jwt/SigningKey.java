package dev.fanout.jwt;

import com.nimbusds.jose.JWSVerifier;

/** A verification key with the one algorithm it may verify (a key never serves two). */
record SigningKey(JwtAlgorithm algorithm, JWSVerifier verifier) {}
