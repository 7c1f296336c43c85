/**
 * fanout-core: the transport-free heart of fanout. Start at {@link dev.fanout.core.Hub}: it
 * registers {@link dev.fanout.core.Connection}s, routes {@link dev.fanout.core.Event}s from a
 * {@link dev.fanout.core.Bus} to the {@link dev.fanout.core.Subscription}s that match, and queues
 * them in per-connection outboxes governed by a {@link dev.fanout.core.Backpressure} policy.
 * Snapshots and resumes come from a {@link dev.fanout.core.History}; {@link
 * dev.fanout.core.InMemoryStream} is both for a single node, and {@link
 * dev.fanout.core.InMemoryTransport} stands in for a socket in tests.
 */
package dev.fanout.core;
