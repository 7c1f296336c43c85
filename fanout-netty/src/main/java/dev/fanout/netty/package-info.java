/**
 * Protocol v1 on Netty: {@link dev.fanout.netty.FanoutNettyServer} serves a {@link
 * dev.fanout.protocol.FanoutNode} over WebSocket, with native epoll on Linux. The rest of this
 * package is its glue and is not public.
 */
package dev.fanout.netty;
