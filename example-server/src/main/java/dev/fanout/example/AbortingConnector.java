package dev.fanout.example;

import java.io.IOException;
import java.net.StandardSocketOptions;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.util.concurrent.TimeoutException;
import org.eclipse.jetty.io.ManagedSelector;
import org.eclipse.jetty.io.SocketChannelEndPoint;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

/**
 * A Jetty connector that resets, rather than closes, a connection it gives up on at its idle
 * timeout. fanout's close deadline reaches Jetty as the closing session's idle timeout
 * (JakartaSocket); a plain close then leaves the kernel an orphaned socket in FIN-WAIT-1 that
 * holds its unsent bytes (up to twice the send buffer, about 128 KiB) for as long as the peer
 * keeps its window shut, minutes after the file descriptor is gone: 300 clients that never read
 * kept 39.8 MB of the host's TCP memory for the whole 110 s measured (docs/benchmarks.md). With
 * SO_LINGER 0 the close drops them at once, as the Netty transport does at the deadline. Every
 * other close (a completed closing handshake, an HTTP response) keeps its orderly FIN.
 */
final class AbortingConnector extends ServerConnector {

  AbortingConnector(Server server) {
    super(server);
  }

  @Override
  protected SocketChannelEndPoint newEndPoint(SocketChannel channel, ManagedSelector selector,
      SelectionKey key) {
    SocketChannelEndPoint endpoint = new ResetOnExpiry(channel, selector, key, this);
    endpoint.setIdleTimeout(getIdleTimeout());
    return endpoint;
  }

  private static final class ResetOnExpiry extends SocketChannelEndPoint {
    private final SocketChannel channel;
    private volatile boolean expired;

    ResetOnExpiry(SocketChannel channel, ManagedSelector selector, SelectionKey key,
        ServerConnector connector) {
      super(channel, selector, key, connector.getScheduler());
      this.channel = channel;
    }

    @Override
    protected void onIdleExpired(TimeoutException timeout) {
      expired = true;
      super.onIdleExpired(timeout);
    }

    @Override
    public void doClose() {
      if (expired) {
        try {
          channel.setOption(StandardSocketOptions.SO_LINGER, 0);
        } catch (IOException | RuntimeException e) {
          // already closed by the peer: nothing is left to drop
        }
      }
      super.doClose();
    }
  }
}
