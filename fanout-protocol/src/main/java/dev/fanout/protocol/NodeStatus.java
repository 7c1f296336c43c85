package dev.fanout.protocol;

import dev.fanout.core.BusStatus;
import java.util.Map;

/**
 * Where a {@link FanoutNode} stands, for health pages, readiness probes and metrics.
 *
 * @param accepting whether new handshakes are accepted (false before start and while draining)
 * @param draining whether the node is shutting down: a load balancer should stop sending here
 * @param bus what the stream's bus says of its link (Redis: up, down and why)
 * @param newestEventAgeMillis how old the newest event this node routed is, from its publish
 *     time; -1 before the first. It grows while nothing is published or nothing reaches the node
 * @param connections open connections: what the connection cap counts
 * @param closingSockets sockets of connections the node closed whose peer has not finished the
 *     closing handshake yet; each is gone within the close deadline
 * @param connectionsByTransport {@code connections} by kind: {@code "websocket"} and {@code
 *     "sse"} (Server-Sent Events streams)
 */
public record NodeStatus(boolean accepting, boolean draining, BusStatus bus,
    long newestEventAgeMillis, int connections, int closingSockets,
    Map<String, Integer> connectionsByTransport) {

  public NodeStatus {
    connectionsByTransport = Map.copyOf(connectionsByTransport);
  }
}
