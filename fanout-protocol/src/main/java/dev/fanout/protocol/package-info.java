/**
 * Protocol v1, transport-neutral, and the node that runs it: start at {@link
 * dev.fanout.protocol.FanoutNode}, which owns the stream, the hub and every thread; transports
 * (fanout-jakarta, fanout-netty) serve it. {@link dev.fanout.protocol.Authenticator} and {@link
 * dev.fanout.protocol.ProtocolSocket} are the extension points; {@link
 * dev.fanout.protocol.HandshakeCheck} tells a page why its handshake is refused. The wire
 * protocol is described in docs/protocol.md.
 */
package dev.fanout.protocol;
