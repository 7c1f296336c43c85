package dev.fanout.core;

/**
 * How a bus splits its stream into partitions (fanout-redis on Redis Cluster: a topic's partition
 * is a stable hash of the topic). Order holds within a partition, not across them; each
 * partition has its own epochs and sequence, so an {@link EventId} names its partition.
 */
public interface Partitioning {

  /** How many partitions: 1 for a stream that is not split. */
  int count();

  /** The partition of {@code topic}, from 0 below {@link #count()}. */
  int partitionOf(String topic);

  /** One partition: every topic in it. */
  static Partitioning single() {
    return SinglePartition.INSTANCE;
  }
}
