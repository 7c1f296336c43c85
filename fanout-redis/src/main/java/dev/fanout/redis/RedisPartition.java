package dev.fanout.redis;

import dev.fanout.core.EventId;
import java.nio.charset.StandardCharsets;

/**
 * The Redis names of one partition of a {@link RedisStream}: its own stream, meta hash, topic
 * streams, set of topic streams and channel, all under one hash tag, so they share a Redis
 * Cluster slot (the publish function writes them together and publishes on the channel with
 * {@code SPUBLISH}, which a cluster requires to hash to the same slot).
 *
 * <p>Two layouts (docs/redis.md):
 *
 * <ul>
 *   <li><b>single</b>: one partition on a standalone or Sentinel Redis, the names fanout always
 *       used: {@code {ns}:stream}, {@code {ns}:meta}, {@code {ns}:topic:<topic>}, {@code
 *       {ns}:topics} and the channel {@code ns:events} (classic {@code PUBLISH});
 *   <li><b>tagged</b>: partition {@code i} of {@code P} under the tag {@code <ns>:<i>:<n>},
 *       where {@code n} is the smallest number from 0 up whose slot is the centre of the
 *       {@code i}-th of {@code P} equal slot ranges, {@code floor((2i + 1) * 16384 / (2P))}: so
 *       partitions spread evenly over however many primaries serve equal slot ranges. Names:
 *       {@code {tag}:stream}, {@code {tag}:meta}, {@code {tag}:topic:<topic>}, {@code
 *       {tag}:topics} and the channel {@code {tag}:events} ({@code SPUBLISH}).
 * </ul>
 *
 * <p>Immutable; from {@link RedisStream#partition(int)}.
 */
public final class RedisPartition {
  /** How far the tag search goes before giving up (it finds every tag far sooner). */
  private static final int MAX_TAG_SEARCH = 20_000_000;

  private final int index;
  private final String tag;
  private final int slot;
  private final boolean sharded;
  private final boolean named; // its ids name it: the stream has several partitions
  private final String channel;

  private RedisPartition(int index, String tag, boolean sharded, boolean named,
      String channel) {
    this.index = index;
    this.tag = tag;
    this.slot = KeySlot.ofWhole(tag);
    this.sharded = sharded;
    this.named = named;
    this.channel = channel;
  }

  /** The single layout: today's names, classic Pub/Sub on {@code ns:events}. */
  static RedisPartition single(String namespace) {
    return new RedisPartition(0, namespace, false, false, namespace + ":events");
  }

  /** Partition {@code index} of {@code count} in the tagged layout. */
  static RedisPartition tagged(String namespace, int index, int count) {
    String tag = tagFor(namespace, index, count);
    return new RedisPartition(index, tag, true, count > 1, "{" + tag + "}:events");
  }

  /**
   * The slot partition {@code index} of {@code count} aims at: the centre of the {@code
   * index}-th of {@code count} equal slot ranges, {@code floor((2i + 1) * 16384 / (2P))}.
   */
  static int targetSlot(int index, int count) {
    return (int) ((2L * index + 1) * KeySlot.SLOTS / (2L * count));
  }

  /** {@code <ns>:<i>:<n>} with the smallest {@code n >= 0} whose slot is the target slot. */
  static String tagFor(String namespace, int index, int count) {
    int target = targetSlot(index, count);
    String prefix = namespace + ":" + index + ":";
    byte[] head = prefix.getBytes(StandardCharsets.UTF_8);
    int headCrc = KeySlot.crc16(head, 0, head.length);
    byte[] digits = new byte[10];
    for (int n = 0; n < MAX_TAG_SEARCH; n++) {
      int from = digits.length;
      int rest = n;
      do {
        digits[--from] = (byte) ('0' + rest % 10);
        rest /= 10;
      } while (rest > 0);
      if ((KeySlot.crc16(headCrc, digits, from, digits.length) & (KeySlot.SLOTS - 1)) == target) {
        return prefix + n;
      }
    }
    throw new IllegalStateException("no hash tag " + prefix + "<n> reaches slot " + target);
  }

  /** Which partition this is, from 0. */
  public int index() {
    return index;
  }

  /**
   * The hash tag every name of this partition carries in braces: {@code <ns>:<i>:<n>}, or in
   * the single layout the namespace itself.
   */
  public String tag() {
    return tag;
  }

  /** The Redis Cluster slot of every key and of the channel of this partition. */
  public int slot() {
    return slot;
  }

  /**
   * Whether events go out with {@code SPUBLISH} (sharded Pub/Sub: the tagged layout) rather than
   * {@code PUBLISH} (the single layout).
   */
  public boolean sharded() {
    return sharded;
  }

  /** The Redis Stream of every retained event of this partition, entry id {@code <seq>-0}. */
  public String streamKey() {
    return "{" + tag + "}:stream";
  }

  /** The hash with the partition's epoch, last sequence number, floor and run id. */
  public String metaKey() {
    return "{" + tag + "}:meta";
  }

  /** The stream of one topic's events, read by resumes of subscriptions to named topics. */
  public String topicKey(String topic) {
    return "{" + tag + "}:topic:" + topic;
  }

  /** The set of this partition's topic streams, dropped with their epoch. */
  public String topicsKey() {
    return "{" + tag + "}:topics";
  }

  /** The Pub/Sub channel every event of this partition is published on. */
  public String channel() {
    return channel;
  }

  /**
   * The id of the event at {@code seq} of {@code epoch} in this partition: {@code
   * <index>.<epoch>:<seq>} when the stream has several partitions, {@code <epoch>:<seq>} when it
   * has one (the ids fanout always had). Redis stores and publishes {@code <epoch>:<seq>}: the
   * partition is where an event is, not part of what is stored.
   */
  EventId eventId(String epoch, long seq) {
    return named ? EventId.of(index, epoch, seq) : EventId.of(epoch, seq);
  }

  /** {@code id}, as Redis stores it ({@code <epoch>:<seq>}), named as this partition names it. */
  EventId eventId(EventId id) {
    return named && !id.isPartitioned() ? EventId.of(index, id.epoch(), id.seq()) : id;
  }

  /** Whether this partition's ids name it ({@code <index>.<epoch>:<seq>}). */
  boolean namesItsIds() {
    return named;
  }

  /** A node's own probe channel, in this partition's slot. */
  String probeChannel(String node) {
    return sharded ? "{" + tag + "}:probe:" + node : tag + ":probe:" + node;
  }

  @Override
  public String toString() {
    return "partition " + index + " {" + tag + "}";
  }
}
