/**
 * fanout-jakarta: the protocol v1 WebSocket endpoint for any Jakarta WebSocket 2.1+ container.
 * Start at {@link dev.fanout.jakarta.FanoutWebSocket}, which serves a {@link
 * dev.fanout.protocol.FanoutNode}. The wire protocol is described in docs/protocol.md.
 */
package dev.fanout.jakarta;
