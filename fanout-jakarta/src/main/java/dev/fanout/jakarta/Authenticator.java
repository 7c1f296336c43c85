package dev.fanout.jakarta;

import dev.fanout.core.Scope;
import jakarta.websocket.server.HandshakeRequest;

/**
 * Turns a WebSocket handshake (headers, query parameters, cookies) into a principal and the
 * topics it may see. Runs once per connection, during the handshake, on a container thread.
 *
 * <p>It must not throw: a thrown exception is logged and treated as a refusal (401).
 */
@FunctionalInterface
public interface Authenticator {

  Authentication authenticate(HandshakeRequest request);

  /** Lets everyone in as {@code anonymous}, seeing every topic: for demos and trusted networks. */
  static Authenticator allowAll() {
    return request -> Authentication.allow(Authentication.ANONYMOUS, Scope.all());
  }
}
