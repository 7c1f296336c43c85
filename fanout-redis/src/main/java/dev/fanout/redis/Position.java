package dev.fanout.redis;

import dev.fanout.core.EventId;
import dev.fanout.core.Recovery;
import java.util.List;

/**
 * Where a stream stands, from its meta hash: the current {@code epoch} and its last sequence
 * number {@code seq}; for an epoch bridged from a previous one (a new Redis server process took
 * over the stream, see fanout.lua), the previous epoch {@code prev} and {@code base}, the last
 * sequence number that epoch still holds here. Ids of {@code prev} up to {@code base} are
 * positions of this epoch too; the current epoch's own ids start at {@code base + 1}. A stream
 * created afresh has {@code base} 0 and no {@code prev}.
 */
record Position(String epoch, long seq, long base, String prev) {

  /** The fields {@link #of} expects, in order, for {@code HMGET} of the meta hash. */
  static final String[] FIELDS = {"epoch", "seq", "base", "prev"};

  /** From the values of {@link #FIELDS}; null when the stream does not exist. */
  static Position of(List<String> meta) {
    String epoch = meta.get(0);
    if (epoch == null) {
      return null;
    }
    long seq = meta.get(1) == null ? 0 : Long.parseLong(meta.get(1));
    long base = meta.get(2) == null ? 0 : Long.parseLong(meta.get(2));
    return new Position(epoch, seq, base, base == 0 ? null : meta.get(3));
  }

  /** The epoch whose id names the event at {@code seq} of this stream. */
  String epochOf(long seq) {
    return seq <= base && prev != null ? prev : epoch;
  }

  /**
   * Null when {@code afterSeq} of {@code epoch} is a position of this stream (the events after it
   * are this stream's events after {@code afterSeq}), else why not.
   */
  Recovery refusal(String epoch, long afterSeq) {
    if (epoch.equals(this.epoch)) {
      if (afterSeq > seq) {
        return Recovery.notRecovered(Recovery.Reason.UNKNOWN_ID,
            "position " + afterSeq + " is beyond the newest event " + seq);
      }
      if (afterSeq < base) {
        return Recovery.notRecovered(Recovery.Reason.UNKNOWN_ID,
            "epoch " + epoch + " starts after " + base);
      }
      return null;
    }
    if (epoch.equals(prev)) {
      if (afterSeq > base) {
        return Recovery.notRecovered(Recovery.Reason.OTHER_EPOCH, "events of epoch " + epoch
            + " after " + base + " were lost when Redis changed server process; the stream went"
            + " on as epoch " + this.epoch);
      }
      return null;
    }
    return Recovery.notRecovered(Recovery.Reason.OTHER_EPOCH,
        "epoch " + epoch + " is not the current epoch " + this.epoch);
  }

  /** The id of the newest event, or null when the stream has none yet. */
  EventId top() {
    return seq == 0 ? null : EventId.of(epochOf(seq), seq);
  }

  @Override
  public String toString() {
    return epoch + ":" + seq + (prev == null ? "" : " (bridged from " + prev + ":" + base + ")");
  }
}
