package dev.fanout.example;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.server.ConnectionMetaData;
import org.eclipse.jetty.util.thread.Scheduler;

/**
 * Jetty's counterpart of the Netty transport's request timeout: a connection that has not sent a
 * whole request within the deadline of being accepted is closed, even if it trickles a byte now and
 * then (which keeps the idle timeout from firing). A connection that upgraded, or sent a request
 * and stays for keep-alive, is left to the WebSocket session and the idle timeout.
 */
final class RequestDeadline implements Connection.Listener {
  private final Scheduler scheduler;
  private final long millis;
  private final Map<Connection, Scheduler.Task> pending = new ConcurrentHashMap<>();

  RequestDeadline(Scheduler scheduler, Duration deadline) {
    this.scheduler = scheduler;
    this.millis = deadline.toMillis();
  }

  @Override
  public void onOpened(Connection connection) {
    if (!(connection instanceof ConnectionMetaData)) {
      return; // not HTTP: the WebSocket connection an upgrade put in its place
    }
    pending.put(connection, scheduler.schedule(() -> expire(connection), millis,
        TimeUnit.MILLISECONDS));
  }

  @Override
  public void onClosed(Connection connection) { // closed, or replaced by its upgrade
    Scheduler.Task task = pending.remove(connection);
    if (task != null) {
      task.cancel();
    }
  }

  private void expire(Connection connection) {
    pending.remove(connection);
    if (connection.getMessagesIn() == 0 && connection.getEndPoint().getConnection() == connection) {
      connection.getEndPoint().close();
    }
  }
}
