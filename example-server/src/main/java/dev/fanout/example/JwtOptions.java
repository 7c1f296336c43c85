package dev.fanout.example;

import dev.fanout.jwt.JwtAlgorithm;
import dev.fanout.jwt.JwtAuthenticator;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import picocli.CommandLine.Option;

/**
 * The server's authentication flags: standard JWTs checked by fanout-jwt's {@link
 * JwtAuthenticator}, with keys from one of a shared secret (HS256), a PEM public key or a JWKS
 * URL. None of them: no authentication. A combination that cannot work stops the server with one
 * line naming the flag to fix.
 */
final class JwtOptions {
  /** The claim the example server's tokens carry their merchants in. */
  static final String DEFAULT_SCOPE_CLAIM = "merchants";
  static final String MIGRATION = "docs/jwt.md, \"Migrating from the example server's HMAC "
      + "tokens\"";

  @Option(names = "--jwt-secret", defaultValue = "${env:FANOUT_JWT_SECRET}",
      description = "Require HS256 JWTs signed with this shared secret, at least 32 bytes "
          + "(openssl rand -base64 32; env FANOUT_JWT_SECRET, which keeps it out of ps). "
          + "See the token subcommand.")
  String secret;

  @Option(names = "--jwt-public-key", defaultValue = "${env:FANOUT_JWT_PUBLIC_KEY}",
      description = "Require JWTs verified by this PEM public key file (-----BEGIN PUBLIC "
          + "KEY-----): RSA >= 2048 bits (RS256), EC P-256 (ES256) or Ed25519 (EdDSA) "
          + "(env FANOUT_JWT_PUBLIC_KEY).")
  Path publicKey;

  @Option(names = "--jwks-url", defaultValue = "${env:FANOUT_JWKS_URL}",
      description = "Require JWTs verified by the keys of this JWKS URL (your identity "
          + "provider's; cached, refreshed on an unknown kid at most every 30 s, kept while it is "
          + "down) (env FANOUT_JWKS_URL).")
  String jwksUrl;

  @Option(names = "--jwt-algorithms", split = ",", defaultValue = "${env:FANOUT_JWT_ALGORITHMS}",
      description = "With --jwks-url: the algorithms tokens may use, comma-separated, of RS256, "
          + "ES256, EdDSA (env FANOUT_JWT_ALGORITHMS; default RS256). A secret is HS256 and a "
          + "public key its own algorithm.")
  List<String> algorithms;

  @Option(names = "--jwt-issuer", defaultValue = "${env:FANOUT_JWT_ISSUER}",
      description = "Require this iss claim exactly (env FANOUT_JWT_ISSUER).")
  String issuer;

  @Option(names = "--jwt-audience", defaultValue = "${env:FANOUT_JWT_AUDIENCE}",
      description = "Require the aud claim to name this audience (env FANOUT_JWT_AUDIENCE).")
  String audience;

  @Option(names = "--jwt-scope-claim", defaultValue = "${env:FANOUT_JWT_SCOPE_CLAIM}",
      description = "The claim holding the merchants a token may see: a list of merchants, or "
          + "\"*\" for all (env FANOUT_JWT_SCOPE_CLAIM; default " + DEFAULT_SCOPE_CLAIM + ").")
  String scopeClaim;

  @Option(names = "--jwt-clock-skew", defaultValue = "${env:FANOUT_JWT_CLOCK_SKEW}",
      converter = ExampleServer.DurationConverter.class,
      description = "How far exp, nbf and iat may be off, at most 5m; a connection lasts until "
          + "exp plus this (env FANOUT_JWT_CLOCK_SKEW; default 60s).")
  Duration clockSkew;

  /** The old HMAC tokens' flag: refused, so a deployment that still sets it is not left open. */
  @Option(names = "--auth-secret", hidden = true, defaultValue = "${env:FANOUT_AUTH_SECRET}")
  String legacySecret;

  /**
   * The authenticator these flags ask for, or null when none of the key flags is set (no
   * authentication).
   *
   * @throws IllegalArgumentException naming the flag to fix
   */
  JwtAuthenticator authenticator() {
    refuseLegacySecret(legacySecret);
    List<String> keyFlags = new ArrayList<>();
    if (secret != null) {
      keyFlags.add("--jwt-secret");
    }
    if (publicKey != null) {
      keyFlags.add("--jwt-public-key");
    }
    if (jwksUrl != null) {
      keyFlags.add("--jwks-url");
    }
    if (keyFlags.size() > 1) {
      throw new IllegalArgumentException("set one of --jwt-secret, --jwt-public-key and "
          + "--jwks-url, not " + String.join(" and ", keyFlags));
    }
    if (keyFlags.isEmpty()) {
      String orphan = issuer != null ? "--jwt-issuer" : audience != null ? "--jwt-audience"
          : algorithms != null ? "--jwt-algorithms" : scopeClaim != null ? "--jwt-scope-claim"
          : clockSkew != null ? "--jwt-clock-skew" : null;
      if (orphan != null) {
        throw new IllegalArgumentException(orphan + " needs a key: set --jwt-secret, "
            + "--jwt-public-key or --jwks-url");
      }
      return null;
    }
    JwtAuthenticator.Builder b = JwtAuthenticator.builder();
    String flag = keyFlags.get(0);
    try {
      if (secret != null) {
        b.secret(secret);
      } else if (publicKey != null) {
        flag = "--jwt-public-key " + publicKey;
        b.publicKey(readPem(publicKey));
      } else {
        b.jwksUrl(jwksUrl);
      }
      if (algorithms != null) {
        flag = "--jwt-algorithms";
        List<JwtAlgorithm> pinned = algorithms.stream().map(JwtOptions::algorithm).toList();
        b.algorithms(pinned.get(0), pinned.subList(1, pinned.size()).toArray(JwtAlgorithm[]::new));
      }
      if (issuer != null) {
        flag = "--jwt-issuer";
        b.issuer(issuer);
      }
      if (audience != null) {
        flag = "--jwt-audience";
        b.audience(audience);
      }
      flag = "--jwt-scope-claim";
      b.scopeClaim(scopeClaim != null ? scopeClaim : DEFAULT_SCOPE_CLAIM);
      if (clockSkew != null) {
        flag = "--jwt-clock-skew";
        b.clockSkew(clockSkew);
      }
      flag = algorithms != null ? "--jwt-algorithms" : keyFlags.get(0); // what build() checks
      return b.build();
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(flag + ": " + e.getMessage(), e);
    }
  }

  /** Stops with the migration when the old flag or its variable is still set. */
  static void refuseLegacySecret(String legacySecret) {
    if (legacySecret != null) {
      throw new IllegalArgumentException("--auth-secret (FANOUT_AUTH_SECRET) is gone: the "
          + "server takes standard JWTs; start it with --jwt-secret <at least 32 bytes> and mint "
          + "new tokens with 'token --jwt-secret' (" + MIGRATION + ")");
    }
  }

  private static JwtAlgorithm algorithm(String name) {
    return Stream.of(JwtAlgorithm.values()).filter(a -> a.name().equals(name.strip()))
        .findFirst().orElseThrow(() -> new IllegalArgumentException("unknown algorithm '"
            + name.strip() + "'; use RS256, ES256 or EdDSA"));
  }

  /** The file's text (Latin-1: any bytes read, and a binary key is then not PEM text). */
  private static String readPem(Path file) {
    try {
      return new String(Files.readAllBytes(file), StandardCharsets.ISO_8859_1);
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read " + file + " ("
          + e.getClass().getSimpleName() + "); give a PEM public key file", e);
    }
  }
}
