package dev.fanout.example;

import dev.fanout.core.Scope;
import dev.fanout.protocol.Authentication;
import dev.fanout.protocol.Authenticator;
import dev.fanout.protocol.FanoutNode;
import dev.fanout.protocol.Handshake;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The server's authenticator: the JWT one, except for the node's own warm-up connections, which
 * carry the node's secret warm-up header ({@link FanoutNode#warmupHeaders()}) instead of a token.
 * The server cannot mint a token for a public key or a JWKS, and minting one with a secret would
 * put a token in a URL or a header for nothing. A warm-up connection may see only the topic the
 * warm-up subscribes to, nobody publishes, for five minutes.
 */
final class WarmupPass implements Authenticator {
  static final String WARMUP_TOPIC = "__warmup";
  private static final Scope WARMUP_SCOPE = Scope.of(WARMUP_TOPIC);

  private final Authenticator tokens;
  private final Supplier<FanoutNode> node;
  private final Clock clock;

  /** @param node the node whose warm-up header lets a connection in (null until built) */
  WarmupPass(Authenticator tokens, Supplier<FanoutNode> node) {
    this(tokens, node, Clock.systemUTC());
  }

  WarmupPass(Authenticator tokens, Supplier<FanoutNode> node, Clock clock) {
    this.tokens = tokens;
    this.node = node;
    this.clock = clock;
  }

  @Override
  public Authentication authenticate(Handshake handshake) {
    FanoutNode n = node.get();
    if (n != null) {
      for (Map.Entry<String, String> h : n.warmupHeaders().entrySet()) {
        String sent = handshake.header(h.getKey());
        if (sent != null && MessageDigest.isEqual(sent.getBytes(StandardCharsets.UTF_8),
            h.getValue().getBytes(StandardCharsets.UTF_8))) {
          return Authentication.allowUntil("fanout-warmup", WARMUP_SCOPE,
              clock.instant().plus(Duration.ofMinutes(5)));
        }
      }
    }
    return tokens.authenticate(handshake);
  }
}
