package dev.fanout.jakarta;

import dev.fanout.core.FanoutException;

/**
 * Thrown from the handshake to stop an upgrade: authentication refused or the node is at its
 * connection cap. The Jakarta WebSocket API has no portable way to choose the HTTP status of a
 * refused handshake, so the status the client sees is the container's (see docs/embedding.md);
 * {@link #status()} is the one fanout means, for containers or filters that can send it.
 */
public final class HandshakeRejectedException extends FanoutException {
  private static final long serialVersionUID = 1L;

  private final int status;

  HandshakeRejectedException(int status, String reason) {
    super(status + " " + reason);
    this.status = status;
  }

  /** The HTTP status that describes the refusal: 401, 403 or 503. */
  public int status() {
    return status;
  }
}
