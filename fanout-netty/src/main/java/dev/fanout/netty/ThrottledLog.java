package dev.fanout.netty;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;

/**
 * One WARN line per kind of trouble at most every {@value #EVERY_SECONDS} s, saying how many like
 * it were not logged: what a request can make the server log must not grow with the requests
 * (a client repeating a failing request would otherwise write a stack trace per request).
 */
final class ThrottledLog {
  static final long EVERY_SECONDS = 10;
  private static final long EVERY_NANOS = TimeUnit.SECONDS.toNanos(EVERY_SECONDS);
  private static final int MAX_KINDS = 64; // kinds come from code, this is only a backstop
  private static final int MAX_DETAIL = 200;

  private final Logger log;
  private final Map<String, Window> windows = new ConcurrentHashMap<>();

  private static final class Window {
    final AtomicLong last = new AtomicLong(System.nanoTime() - EVERY_NANOS - 1);
    final LongAdder skipped = new LongAdder();
  }

  ThrottledLog(Logger log) {
    this.log = log;
  }

  /**
   * Logs "{@code message}: {@code detail}" unless a line of this {@code kind} was logged less
   * than {@value #EVERY_SECONDS} s ago; {@code detail} (which may carry what a client sent) is
   * cut to a few hundred characters of one line. The stack trace of {@code cause} goes to DEBUG,
   * with the line.
   */
  void warn(String kind, String message, String detail, Throwable cause) {
    Window w = windows.computeIfAbsent(windows.size() < MAX_KINDS ? kind : "other",
        k -> new Window());
    long now = System.nanoTime();
    long last = w.last.get();
    if (now - last < EVERY_NANOS || !w.last.compareAndSet(last, now)) {
      w.skipped.increment();
      return;
    }
    long skipped = w.skipped.sumThenReset();
    log.warn("{}: {}{}", message, oneLine(detail), skipped == 0 ? ""
        : " (and " + skipped + " more in the last " + EVERY_SECONDS + " s, not logged)");
    if (cause != null && log.isDebugEnabled()) {
      log.debug("{}", message, cause);
    }
  }

  private static String oneLine(String s) {
    String cut = s.length() > MAX_DETAIL ? s.substring(0, MAX_DETAIL) + "..." : s;
    StringBuilder b = new StringBuilder(cut.length());
    for (int i = 0; i < cut.length(); i++) {
      char c = cut.charAt(i);
      b.append(Character.isISOControl(c) ? '?' : c);
    }
    return b.toString();
  }
}
