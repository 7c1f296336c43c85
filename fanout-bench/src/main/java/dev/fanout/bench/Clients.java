package dev.fanout.bench;

import java.util.Map;
import java.util.TreeMap;
import org.HdrHistogram.Histogram;

/**
 * The simulated dashboards of one run, wherever they live: in this process ({@link LocalClients})
 * or spread over worker processes ({@link WorkerClients}), since one process may hold only so many
 * sockets (the open-file limit) and the JDK client's reading threads.
 */
interface Clients extends AutoCloseable {
  /**
   * Client i of the run subscribes to merchant {@code mch_(i mod merchants)}, or to every merchant
   * (null) when it is one of the {@code ops} fraction.
   */
  static String merchantOf(int i, int merchants, double ops) {
    if (ops > 0 && i % (int) Math.round(1 / ops) == 0) {
      return null;
    }
    return "mch_" + (i % merchants);
  }

  /** What carries protocol v1 to the clients. */
  enum Transport {
    /** A WebSocket per client ({@link LoadClient}). */
    WEBSOCKET,
    /** A Server-Sent Events stream per client ({@link SseClient}): GET /events?merchants=... */
    SSE
  }

  /**
   * How the clients speak and behave.
   *
   * @param plain the seed's plain protocol (the Go reference), not fanout's
   * @param reconnect whether a client the server closes comes back and resumes, as a page does;
   *     without, it stays closed and its missed events count as lost
   * @param transport WebSocket or Server-Sent Events
   */
  record Mode(boolean plain, boolean reconnect, Transport transport) {
    Mode(boolean plain, boolean reconnect) {
      this(plain, reconnect, Transport.WEBSOCKET);
    }
  }

  /** Connects and subscribes every client; returns the milliseconds until all were subscribed. */
  long connect() throws Exception;

  /** Counts only events published in [start, end) (µs since the epoch). */
  void window(long startMicros, long endMicros) throws Exception;

  /** Drops every connection at once; each reconnects after up to {@code jitterMs} and resumes. */
  StormResult storm(int jitterMs) throws Exception;

  /**
   * Churn: from now on, {@code perSecond} times a second the next subscribed client (round robin)
   * leaves (a TCP reset) and comes back at once, resuming from its last event, as a page that
   * reloads does; 0 stops it (clients already on their way back still arrive).
   */
  void churn(double perSecond) throws Exception;

  /** The churn so far. */
  Churned churned() throws Exception;

  /** Churned connections made, how their resumes went, and how many are still on their way. */
  record Churned(long connections, long recovered, long notRecovered, long pending) {
    Churned plus(Churned o) {
      return new Churned(connections + o.connections, recovered + o.recovered,
          notRecovered + o.notRecovered, pending + o.pending);
    }
  }

  /** What the clients saw in the window so far. */
  Seen seen() throws Exception;

  /** Drops every connection. */
  @Override
  void close();

  /** How a storm ended: when the last client was back, and how the resumes went. */
  record StormResult(long allBackMs, long recovered, long noResumePoint) {
    StormResult plus(StormResult o) {
      return new StormResult(Math.max(allBackMs, o.allBackMs), recovered + o.recovered,
          noResumePoint + o.noResumePoint);
    }
  }

  /**
   * Deliveries counted in the window, their publish-to-receive latency in µs, connection
   * attempts after the first (a refused subscribe, or a connection the server closed: both come
   * back and resume), and close codes seen.
   */
  record Seen(long received, long duplicates, long orderViolations, long retries,
      Map<Integer, Long> closes, Histogram latency) {
    Seen plus(Seen o) {
      Map<Integer, Long> c = new TreeMap<>(closes);
      o.closes.forEach((code, n) -> c.merge(code, n, Long::sum));
      Histogram h = latency.copy();
      h.add(o.latency);
      return new Seen(received + o.received, duplicates + o.duplicates,
          orderViolations + o.orderViolations, retries + o.retries, c, h);
    }
  }
}
