package dev.fanout.redis;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Locale;

/**
 * Names, partitions and retention of one fanout stream in Redis. Every name derives from a
 * namespace, so several streams (or several environments) can share a Redis.
 *
 * <p>A namespace has {@code P} partitions ({@link #withPartitions}, 1 by default). A topic
 * belongs to one of them ({@link #partitionOf}), and each partition has its own stream, meta
 * hash, topic streams and channel under a hash tag of its own ({@link RedisPartition}), so on a
 * Redis Cluster the partitions spread over the primaries. One partition on a standalone or
 * Sentinel Redis keeps the names fanout always used:
 *
 * <ul>
 *   <li>{@code {ns}:stream}: the Redis Stream holding retained events, entry id {@code <seq>-0};
 *   <li>{@code {ns}:meta}: a hash with the stream's {@code epoch} and last {@code seq};
 *   <li>{@code ns:events}: the Pub/Sub channel every node subscribes to;
 *   <li>{@code ns:probe:<node>}: each node's private probe channel.
 * </ul>
 *
 * <p>On a cluster even one partition uses the tagged layout ({@link #tagged()}: fanout applies
 * it to a {@code redis-cluster://} URI by itself), because a cluster wants the channel of a
 * script's {@code SPUBLISH} in its keys' slot. {@code P} is recorded in Redis when the namespace
 * is created ({@code {ns}:partitions}); a publisher or node configured with another {@code P}
 * refuses to run.
 */
public final class RedisStream {
  /** Default retained events (approximate, MAXLEN ~), per partition. */
  public static final int DEFAULT_RETENTION = 100_000;
  /** The partitions a namespace on a Redis Cluster has unless configured otherwise. */
  public static final int DEFAULT_CLUSTER_PARTITIONS = 16;
  /** The most partitions a namespace may have. */
  public static final int MAX_PARTITIONS = 1024;

  private final String namespace;
  private final int retention;
  private final Layout layout;

  private RedisStream(String namespace, int retention, Layout layout) {
    this.namespace = namespace;
    this.retention = retention;
    this.layout = layout;
  }

  /**
   * A stream in {@code namespace}, with one partition: 1 to 64 characters of letters, digits,
   * {@code .}, {@code _}, {@code -}.
   */
  public static RedisStream named(String namespace) {
    Objects.requireNonNull(namespace, "namespace");
    if (!namespace.matches("[A-Za-z0-9._-]{1,64}")) {
      throw new IllegalArgumentException("namespace must be 1 to 64 characters of "
          + "[A-Za-z0-9._-], got '" + namespace + "'");
    }
    return new RedisStream(namespace, DEFAULT_RETENTION, new Layout(namespace, 1, false));
  }

  /** The same stream retaining about {@code events} events per partition (MAXLEN ~). */
  public RedisStream withRetention(int events) {
    if (events < 1) {
      throw new IllegalArgumentException("retention must be at least 1 event, got " + events);
    }
    return new RedisStream(namespace, events, layout);
  }

  /**
   * The same stream in {@code count} partitions (1 to {@value #MAX_PARTITIONS}). More than one
   * implies the tagged layout. The count is fixed when the namespace is created: choose it from
   * the primaries the cluster may grow to (docs/redis.md, "How to choose P").
   */
  public RedisStream withPartitions(int count) {
    if (count < 1 || count > MAX_PARTITIONS) {
      throw new IllegalArgumentException("partitions must be 1 to " + MAX_PARTITIONS + ", got "
          + count);
    }
    return count == layout.count ? this
        : new RedisStream(namespace, retention, new Layout(namespace, count, layout.forced));
  }

  /**
   * The partitions a namespace gets when its configuration names none: {@value
   * #DEFAULT_CLUSTER_PARTITIONS} on a Redis Cluster ({@code redis-cluster://}, {@code
   * rediss-cluster://}), 1 elsewhere (the keys and ids of a single Redis).
   */
  public static int defaultPartitions(URI redis) {
    String scheme = redis.getScheme() == null ? "" : redis.getScheme().toLowerCase(Locale.ROOT);
    return scheme.endsWith("-cluster") ? DEFAULT_CLUSTER_PARTITIONS : 1;
  }

  /**
   * The same stream in the tagged layout even with one partition, as on a Redis Cluster: every
   * partition's names under its balanced hash tag, events published with {@code SPUBLISH}.
   */
  public RedisStream tagged() {
    return layout.tagged() ? this
        : new RedisStream(namespace, retention, new Layout(namespace, layout.count, true));
  }

  /** Whether the names are the tagged layout's (more than one partition, or {@link #tagged}). */
  public boolean isTagged() {
    return layout.tagged();
  }

  public String namespace() {
    return namespace;
  }

  public int retention() {
    return retention;
  }

  /** How many partitions the namespace has. */
  public int partitions() {
    return layout.count;
  }

  /**
   * The partition of {@code topic}: the one whose slot range holds the topic's slot, {@code
   * floor(slot * P / 16384)} with {@code slot = crc16(utf8(topic)) mod 16384}, CRC16/XMODEM as
   * Redis Cluster's key slot uses it, on the whole topic (braces in a topic mean nothing here).
   * Partition {@code i}'s keys live at the centre of the same range ({@link RedisPartition}).
   * Stable in any language; docs/redis.md has it in Python.
   */
  public int partitionOf(String topic) {
    Objects.requireNonNull(topic, "topic");
    if (layout.count == 1) {
      return 0;
    }
    byte[] bytes = topic.getBytes(StandardCharsets.UTF_8);
    int slot = KeySlot.crc16(bytes, 0, bytes.length) & (KeySlot.SLOTS - 1);
    return slot * layout.count / KeySlot.SLOTS;
  }

  /** The names of partition {@code index} (0 to {@code partitions() - 1}). */
  public RedisPartition partition(int index) {
    if (index < 0 || index >= layout.count) {
      throw new IllegalArgumentException("partition " + index + " of " + namespace
          + " does not exist: it has " + layout.count);
    }
    return layout.partition(index);
  }

  /** The partition that holds {@code topic}'s events. */
  public RedisPartition partitionFor(String topic) {
    return partition(partitionOf(topic));
  }

  /** The stream of the only partition; see {@link RedisPartition#streamKey()}. */
  public String streamKey() {
    return only().streamKey();
  }

  /** The meta hash of the only partition; see {@link RedisPartition#metaKey()}. */
  public String metaKey() {
    return only().metaKey();
  }

  /** One topic's stream in the only partition; see {@link RedisPartition#topicKey}. */
  public String topicKey(String topic) {
    return only().topicKey(topic);
  }

  /** The topic streams' set of the only partition; see {@link RedisPartition#topicsKey()}. */
  public String topicsKey() {
    return only().topicsKey();
  }

  /** The channel of the only partition; see {@link RedisPartition#channel()}. */
  public String channel() {
    return only().channel();
  }

  String probeChannel(String node) {
    return only().probeChannel(node);
  }

  /** The hash recording how many partitions the namespace has: {@code {ns}:partitions}. */
  String partitionsKey() {
    return "{" + namespace + "}:partitions";
  }

  /** The meta hash of the single layout, {@code {ns}:meta}: a namespace from before P. */
  String singleMetaKey() {
    return "{" + namespace + "}:meta";
  }

  private RedisPartition only() {
    if (layout.count != 1) {
      throw new IllegalStateException(namespace + " has " + layout.count
          + " partitions: name one with partition(i)");
    }
    return layout.partition(0);
  }

  @Override
  public String toString() {
    return "RedisStream{" + namespace + ", retention=" + retention
        + (layout.count == 1 ? "" : ", partitions=" + layout.count)
        + (layout.tagged() ? ", tagged" : "") + "}";
  }

  /** The partitions' names, computed once and shared by the copies of a stream. */
  private static final class Layout {
    private final String namespace;
    private final int count;
    private final boolean forced;
    private volatile List<RedisPartition> partitions;

    Layout(String namespace, int count, boolean forced) {
      this.namespace = namespace;
      this.count = count;
      this.forced = forced;
    }

    boolean tagged() {
      return forced || count > 1;
    }

    RedisPartition partition(int index) {
      List<RedisPartition> all = partitions;
      if (all == null) {
        synchronized (this) {
          all = partitions;
          if (all == null) {
            all = compute();
            partitions = all;
          }
        }
      }
      return all.get(index);
    }

    private List<RedisPartition> compute() {
      if (!tagged()) {
        return List.of(RedisPartition.single(namespace));
      }
      List<RedisPartition> all = new ArrayList<>(count);
      for (int i = 0; i < count; i++) {
        all.add(RedisPartition.tagged(namespace, i, count));
      }
      return List.copyOf(all);
    }
  }
}
