package dev.fanout.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** CPU time and resident memory of the server process, from /proc. */
final class ServerProcess {
  private static final double TICK_SECONDS = 0.01; // USER_HZ is 100 on Linux

  private final long pid;

  ServerProcess(long pid) {
    this.pid = pid;
  }

  /** User plus system CPU seconds used so far. */
  double cpuSeconds() throws IOException {
    String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    // after "(comm) ", field 3 is state: utime and stime are fields 14 and 15 of the whole line
    return (Long.parseLong(f[11]) + Long.parseLong(f[12])) * TICK_SECONDS;
  }

  /** Resident set size in KiB. */
  long rssKib() throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", ""));
      }
    }
    throw new IOException("no VmRSS for pid " + pid);
  }
}
