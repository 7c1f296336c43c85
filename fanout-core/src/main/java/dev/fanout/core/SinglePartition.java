package dev.fanout.core;

/** {@link Partitioning#single()}. */
enum SinglePartition implements Partitioning {
  INSTANCE;

  @Override
  public int count() {
    return 1;
  }

  @Override
  public int partitionOf(String topic) {
    return 0;
  }
}
