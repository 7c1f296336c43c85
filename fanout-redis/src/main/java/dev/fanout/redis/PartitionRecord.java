package dev.fanout.redis;

/**
 * The partition count a namespace was created with, recorded in {@code {ns}:partitions}, against
 * the count a publisher or node is configured with. Pure: the judgement is {@link #refusal};
 * reading the record is the caller's (the single layout reads {@code count} with HGET; the tagged
 * layout calls {@code fanout_partitions}, which records the count when the namespace is new).
 */
final class PartitionRecord {
  /** What {@code fanout_partitions} answers for a namespace of the single layout. */
  static final long SINGLE_LAYOUT = 0;

  private PartitionRecord() {}

  /**
   * Null when {@code stream} may run on the namespace, else one line naming both counts.
   *
   * @param recorded the recorded count: in the single layout the {@code count} field (null: no
   *     record), in the tagged layout {@code fanout_partitions}'s answer
   * @param who "publisher" or "node"
   */
  static String refusal(RedisStream stream, Long recorded, String who) {
    String ns = stream.namespace();
    int configured = stream.partitions();
    if (!stream.isTagged()) {
      if (recorded == null) {
        return null; // a namespace of the single layout, or one created before partitions
      }
      return "namespace " + ns + " has " + recorded + " partition" + (recorded == 1 ? "" : "s")
          + " in the tagged layout (recorded in " + stream.partitionsKey() + "); this " + who
          + " is configured with 1 in the single layout: configure " + recorded
          + " partitions" + (recorded == 1 ? " on a cluster URI" : "");
    }
    if (recorded == null || recorded == configured) {
      return null;
    }
    if (recorded == SINGLE_LAYOUT) {
      return "namespace " + ns + " has 1 partition in the single layout (" + stream.singleMetaKey()
          + ", created before partitions); this " + who + " is configured with " + configured
          + " in the tagged layout: use another namespace, or 1 partition on a standalone or "
          + "Sentinel URI";
    }
    return "namespace " + ns + " has " + recorded + " partitions (recorded in "
        + stream.partitionsKey() + "); this " + who + " is configured with " + configured;
  }
}
