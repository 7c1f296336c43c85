/**
 * fanout-client: protocol v1 from the client's side, in Java. {@link
 * dev.fanout.client.ProtocolClient} is a recorder-style client over a plain socket for tests and
 * tools; {@link dev.fanout.client.FrameCodec} is its RFC 6455 frame codec (also the load
 * generator's); {@link dev.fanout.client.ResumePoint} is the client's resume rule, the same as
 * the browser's {@code fanout-client.js}; {@link dev.fanout.client.Warmup} warms a node before it
 * says it is ready. The wire protocol is described in docs/protocol.md.
 */
package dev.fanout.client;
