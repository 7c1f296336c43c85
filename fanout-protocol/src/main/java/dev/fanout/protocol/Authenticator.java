package dev.fanout.protocol;

import dev.fanout.core.Scope;

/**
 * Turns a WebSocket handshake (headers, query parameters, cookies, the user a security framework
 * already authenticated) into a principal and the topics it may see. Runs once per connection,
 * during the handshake, on a transport thread: keep it quick.
 *
 * <p>It must not throw: a thrown exception is logged and treated as a refusal (401).
 */
@FunctionalInterface
public interface Authenticator {

  Authentication authenticate(Handshake handshake);

  /** Lets everyone in as {@code anonymous}, seeing every topic: for demos and trusted networks. */
  static Authenticator allowAll() {
    return handshake -> Authentication.allow(Authentication.ANONYMOUS, Scope.all());
  }
}
