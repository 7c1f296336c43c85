package dev.fanout.redis;

import java.util.HashMap;
import java.util.Map;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * Whether a Redis refuses writes while it still answers, read from {@code INFO}: used memory
 * over {@code maxmemory} with {@code maxmemory-policy noeviction} (OOM), or persistence failing
 * (the last RDB save or AOF write failed: MISCONF when {@code stop-writes-on-bgsave-error} is on,
 * which INFO does not show). Publishes then fail while Pub/Sub, pings and reads go on, so the link
 * looks up; this is what says why in {@code /health}. Read at most once per interval, on the
 * caller's thread, and only while the link is up.
 */
final class WriteRefusal {
  private final Supplier<String> check; // why writes are refused now, null, or throws
  private final LongSupplier clock;
  private final long intervalNanos;
  private long checkedAt;
  private boolean checked;
  private String refusal;

  WriteRefusal(Supplier<String> check, LongSupplier clock, long intervalNanos) {
    this.check = check;
    this.clock = clock;
    this.intervalNanos = intervalNanos;
  }

  /** Why writes are refused now, or null; a read that fails keeps the last answer. */
  synchronized String now() {
    long t = clock.getAsLong();
    if (!checked || t - checkedAt >= intervalNanos) {
      checked = true;
      checkedAt = t;
      try {
        refusal = check.get();
      } catch (RuntimeException e) {
        // the link's own watchdog reports a Redis that does not answer
      }
    }
    return refusal;
  }

  /** Why a Redis whose {@code INFO} is {@code text} refuses writes, or null. */
  static String of(String text) {
    Map<String, String> f = new HashMap<>();
    for (String line : text.split("\r?\n")) {
      int colon = line.indexOf(':');
      if (colon > 0 && !line.startsWith("#")) {
        f.put(line.substring(0, colon), line.substring(colon + 1).trim());
      }
    }
    long max = number(f.get("maxmemory"));
    long used = number(f.get("used_memory")) - number(f.get("mem_not_counted_for_evict"));
    if (max > 0 && used > max && "noeviction".equals(f.get("maxmemory_policy"))) {
      return "Redis is over maxmemory (" + used + " of " + max + " bytes, maxmemory-policy "
          + "noeviction): publishes are refused until memory is freed or maxmemory raised";
    }
    if ("err".equals(f.get("rdb_last_bgsave_status"))) {
      return "Redis's last background save failed (rdb_last_bgsave_status:err): with "
          + "stop-writes-on-bgsave-error yes (the default) publishes are refused (MISCONF) "
          + "until a save succeeds";
    }
    if ("err".equals(f.get("aof_last_write_status"))) {
      return "Redis failed to write its AOF (aof_last_write_status:err): publishes are refused "
          + "(MISCONF) until a write succeeds";
    }
    return null;
  }

  private static long number(String s) {
    if (s == null) {
      return 0;
    }
    try {
      return Long.parseLong(s);
    } catch (NumberFormatException e) {
      return 0;
    }
  }
}
