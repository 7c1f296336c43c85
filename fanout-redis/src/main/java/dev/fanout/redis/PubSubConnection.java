package dev.fanout.redis;

import java.nio.charset.StandardCharsets;
import java.util.List;
import redis.clients.jedis.Connection;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.JedisClientConfig;
import redis.clients.jedis.Protocol;

/**
 * A connection in sharded Pub/Sub mode that fanout reads itself: one thread reads replies and
 * messages in order ({@link #read}), others send commands ({@link #send}, each flushed at once).
 * Jedis's {@code JedisShardedPubSub} does not do: it fails on a {@code PING}'s reply, ends its
 * loop when the last channel is unsubscribed (a slot moved away) and ends the subscription on
 * any error reply ({@code MOVED} for one channel).
 */
final class PubSubConnection extends Connection {
  private final Object writing = new Object();

  /** Connects, authenticates and names the connection as {@code config} says; reads block. */
  PubSubConnection(HostAndPort address, JedisClientConfig config) {
    super(address, config);
    setTimeoutInfinite();
  }

  /** Sends one command now; safe from any thread, while another reads. */
  void send(Protocol.Command command, List<String> args) {
    byte[][] raw = new byte[args.size()][];
    for (int i = 0; i < raw.length; i++) {
      raw[i] = args.get(i).getBytes(StandardCharsets.UTF_8);
    }
    synchronized (writing) {
      sendCommand(command, raw);
      flush();
    }
  }

  /**
   * The next reply or message. An error reply is thrown ({@code JedisDataException}, a {@code
   * JedisMovedDataException} for MOVED) and leaves the connection usable; a broken connection
   * throws {@code JedisConnectionException}.
   */
  Object read() {
    return getUnflushedObject();
  }
}
