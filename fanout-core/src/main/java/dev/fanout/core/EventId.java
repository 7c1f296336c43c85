package dev.fanout.core;

import java.security.SecureRandom;
import java.util.Objects;

/**
 * The position of an event in one stream: an epoch and a contiguous sequence number.
 *
 * <p>The epoch is a random token that changes whenever the stream is created afresh (for example
 * when Redis lost its data), so an id from an old stream can never be mistaken for a position in
 * the new one. Within an epoch the sequence is contiguous (1, 2, 3 ...), which makes every gap
 * visible: a reader that sees 105 after 103 knows that 104 is missing.
 *
 * <p>The wire form is {@code <epoch>:<seq>}, for example {@code k7Qm2x:1042}: the epoch is 1 to
 * {@value #MAX_EPOCH_LENGTH} characters of {@code [A-Za-z0-9]}, the sequence a decimal integer
 * from 1 without sign or leading zeros. A stream split into partitions (Redis Cluster) names the
 * partition first: {@code <partition>.<epoch>:<seq>}, for example {@code 3.k7Qm2x:1042}, the
 * partition a decimal integer from 0 below {@value #MAX_PARTITIONS} without leading zeros; each
 * partition is a stream of its own, with its own epochs and sequence. {@link #parse} rejects
 * anything else, so one id has exactly one spelling.
 */
public final class EventId implements Comparable<EventId> {
  /** Longest epoch accepted, so a hostile id cannot make us hold a huge string. */
  public static final int MAX_EPOCH_LENGTH = 32;

  /** Partitions a stream may have; a partition is numbered from 0 below this. */
  public static final int MAX_PARTITIONS = 1024;

  private static final int MAX_SEQ_DIGITS = 19;
  private static final int UNPARTITIONED = -1;
  private static final char[] EPOCH_ALPHABET =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".toCharArray();
  private static final SecureRandom RANDOM = new SecureRandom();

  private final int partition; // UNPARTITIONED: no partition in the id
  private final String epoch;
  private final long seq;

  private EventId(int partition, String epoch, long seq) {
    this.partition = partition;
    this.epoch = epoch;
    this.seq = seq;
  }

  /**
   * Returns the id at {@code seq} in {@code epoch}.
   *
   * @throws MalformedEventIdException if the epoch is not 1 to 32 alphanumeric characters or seq
   *     is below 1
   */
  public static EventId of(String epoch, long seq) {
    Objects.requireNonNull(epoch, "epoch");
    if (!isValidEpoch(epoch)) {
      throw new MalformedEventIdException(
          "event id epoch must be 1 to " + MAX_EPOCH_LENGTH + " characters of [A-Za-z0-9], got '"
              + abbreviate(epoch) + "'");
    }
    if (seq < 1) {
      throw new MalformedEventIdException("event id sequence must be 1 or more, got " + seq);
    }
    return new EventId(UNPARTITIONED, epoch, seq);
  }

  /**
   * Returns the id at {@code seq} in {@code epoch} of partition {@code partition}: {@code
   * <partition>.<epoch>:<seq>}.
   *
   * @throws MalformedEventIdException as {@link #of(String, long)}, or if the partition is not
   *     within 0 and {@value #MAX_PARTITIONS} - 1
   */
  public static EventId of(int partition, String epoch, long seq) {
    if (partition < 0 || partition >= MAX_PARTITIONS) {
      throw new MalformedEventIdException("event id partition must be 0 to "
          + (MAX_PARTITIONS - 1) + ", got " + partition);
    }
    EventId id = of(epoch, seq);
    return new EventId(partition, id.epoch, id.seq);
  }

  /**
   * Parses the wire form {@code <epoch>:<seq>} or {@code <partition>.<epoch>:<seq>}.
   *
   * @throws MalformedEventIdException with a message that says what is wrong
   */
  public static EventId parse(String text) {
    if (text == null) {
      throw new MalformedEventIdException("event id is missing");
    }
    int dot = text.indexOf('.');
    if (dot >= 0) {
      String digits = text.substring(0, dot);
      if (digits.isEmpty() || digits.length() > 4
          || (digits.length() > 1 && digits.charAt(0) == '0')
          || !digits.chars().allMatch(c -> c >= '0' && c <= '9')) {
        throw new MalformedEventIdException("event id partition must be a decimal integer "
            + "without leading zeros, as in 3.k7Qm2x:1042, got '" + abbreviate(text) + "'");
      }
      EventId id = parse(text.substring(dot + 1));
      if (id.partition != UNPARTITIONED) {
        throw new MalformedEventIdException("event id names one partition, got '"
            + abbreviate(text) + "'");
      }
      return of(Integer.parseInt(digits), id.epoch, id.seq);
    }
    int colon = text.indexOf(':');
    if (colon < 0 || colon != text.lastIndexOf(':')) {
      throw new MalformedEventIdException(
          "event id must be <epoch>:<seq>, got '" + abbreviate(text) + "'");
    }
    String epoch = text.substring(0, colon);
    String digits = text.substring(colon + 1);
    if (digits.isEmpty()
        || digits.length() > MAX_SEQ_DIGITS
        || digits.charAt(0) == '0'
        || !digits.chars().allMatch(c -> c >= '0' && c <= '9')) {
      throw new MalformedEventIdException(
          "event id sequence must be a decimal integer from 1 without leading zeros, got '"
              + abbreviate(text) + "'");
    }
    long seq;
    try {
      seq = Long.parseLong(digits);
    } catch (NumberFormatException e) {
      throw new MalformedEventIdException(
          "event id sequence is too large: '" + abbreviate(text) + "'");
    }
    return of(epoch, seq);
  }

  /** A fresh random epoch of 12 alphanumeric characters (about 71 bits). */
  public static String newEpoch() {
    char[] chars = new char[12];
    for (int i = 0; i < chars.length; i++) {
      chars[i] = EPOCH_ALPHABET[RANDOM.nextInt(EPOCH_ALPHABET.length)];
    }
    return new String(chars);
  }

  /** Whether {@code epoch} is a valid epoch token. */
  public static boolean isValidEpoch(String epoch) {
    if (epoch == null || epoch.isEmpty() || epoch.length() > MAX_EPOCH_LENGTH) {
      return false;
    }
    for (int i = 0; i < epoch.length(); i++) {
      char c = epoch.charAt(i);
      boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
      if (!ok) {
        return false;
      }
    }
    return true;
  }

  public String epoch() {
    return epoch;
  }

  /** The partition the id names, or 0 for an id that names none (a stream of one partition). */
  public int partition() {
    return partition == UNPARTITIONED ? 0 : partition;
  }

  /** Whether the id names its partition ({@code <partition>.<epoch>:<seq>}). */
  public boolean isPartitioned() {
    return partition != UNPARTITIONED;
  }

  public long seq() {
    return seq;
  }

  /** The id right after this one in the same epoch. */
  EventId next() {
    return new EventId(partition, epoch, seq + 1);
  }

  /**
   * Whether {@code other} names a position in the same stream incarnation: the same partition
   * and the same epoch.
   */
  public boolean sameEpoch(EventId other) {
    return partition == other.partition && epoch.equals(other.epoch);
  }

  /** Whether this id comes after {@code other}; ids of different epochs are never ordered. */
  public boolean isAfter(EventId other) {
    return sameEpoch(other) && seq > other.seq;
  }

  /**
   * Orders by partition, epoch (lexically, only to make the order total) and then by sequence.
   * Only the order within one epoch of one partition means anything.
   */
  @Override
  public int compareTo(EventId o) {
    int c = Integer.compare(partition, o.partition);
    if (c == 0) {
      c = epoch.compareTo(o.epoch);
    }
    return c != 0 ? c : Long.compare(seq, o.seq);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof EventId e && e.seq == seq && e.partition == partition
        && e.epoch.equals(epoch);
  }

  @Override
  public int hashCode() {
    return (partition * 31 + epoch.hashCode()) * 31 + Long.hashCode(seq);
  }

  /** The wire form, {@code <epoch>:<seq>} or {@code <partition>.<epoch>:<seq>}. */
  @Override
  public String toString() {
    return (partition == UNPARTITIONED ? "" : partition + ".") + epoch + ':' + seq;
  }

  static String abbreviate(String s) {
    return s.length() <= 64 ? s : s.substring(0, 64) + "...(" + s.length() + " chars)";
  }
}
