package dev.fanout.jakarta;

import dev.fanout.protocol.FanoutNode;
import dev.fanout.protocol.SseFixture;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.catalina.Context;
import org.apache.catalina.Wrapper;
import org.apache.catalina.connector.Connector;
import org.apache.catalina.startup.Tomcat;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

/** {@link SseServlet} at {@code /events}, async support on, in embedded Tomcat 11 or Jetty 12. */
abstract class SseServletFixture implements SseFixture {

  static SseFixture tomcat() {
    return new SseServletFixture() {
      private Tomcat tomcat;

      @Override
      public URI start(FanoutNode node) throws Exception {
        Path base = Files.createTempDirectory("tomcat");
        tomcat = new Tomcat();
        tomcat.setBaseDir(base.toString());
        Connector connector = new Connector();
        connector.setPort(0);
        connector.setProperty("address", "127.0.0.1");
        tomcat.setConnector(connector);
        Context context = tomcat.addContext("", base.toString());
        Wrapper w = Tomcat.addServlet(context, "events", new SseServlet(node));
        w.setAsyncSupported(true);
        context.addServletMappingDecoded("/events", "events");
        tomcat.start();
        return URI.create("http://127.0.0.1:" + connector.getLocalPort() + "/events");
      }

      @Override
      public boolean endsAStreamClosedBehindAWaitingWrite() {
        return false;
      }

      @Override
      public void close() {
        try {
          if (tomcat != null) {
            tomcat.stop();
            tomcat.destroy();
          }
        } catch (Exception e) {
          throw new IllegalStateException("stopping Tomcat failed", e);
        }
      }
    };
  }

  static SseFixture jetty() {
    return new SseServletFixture() {
      private Server server;

      @Override
      public URI start(FanoutNode node) throws Exception {
        server = new Server();
        ServerConnector connector = new ServerConnector(server);
        connector.setHost("127.0.0.1");
        connector.setPort(0);
        server.addConnector(connector);
        ServletContextHandler context = new ServletContextHandler("/");
        ServletHolder holder = new ServletHolder(new SseServlet(node));
        holder.setAsyncSupported(true);
        context.addServlet(holder, "/events");
        server.setHandler(context);
        server.start();
        return URI.create("http://127.0.0.1:" + connector.getLocalPort() + "/events");
      }

      @Override
      public void close() {
        try {
          if (server != null) {
            server.stop();
          }
        } catch (Exception e) {
          throw new IllegalStateException("stopping Jetty failed", e);
        }
      }
    };
  }
}
