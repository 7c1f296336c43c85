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

  /** CPU seconds used so far: user and system (kernel: socket writes, loopback TCP). */
  Cpu cpu() throws IOException {
    String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    // after "(comm) ", field 3 is state: utime and stime are fields 14 and 15 of the whole line
    return new Cpu(Long.parseLong(f[11]) * TICK_SECONDS, Long.parseLong(f[12]) * TICK_SECONDS);
  }

  record Cpu(double user, double system) {
    Cpu minus(Cpu before) {
      return new Cpu(user - before.user, system - before.system);
    }

    double total() {
      return user + system;
    }
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
