package dev.fanout.jakarta;

import jakarta.servlet.http.HttpServlet;
import jakarta.websocket.DeploymentException;
import jakarta.websocket.server.ServerContainer;
import jakarta.websocket.server.ServerEndpointConfig;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.catalina.Context;
import org.apache.catalina.connector.Connector;
import org.apache.catalina.startup.Tomcat;
import org.apache.tomcat.websocket.WsWebSocketContainer;
import org.apache.tomcat.websocket.server.WsSci;

/** Embedded Tomcat 11 with its Jakarta WebSocket implementation. */
final class TomcatFixture implements ContainerFixture {
  private Tomcat tomcat;

  @Override
  public URI start(ServerEndpointConfig config) throws Exception {
    Path base = Files.createTempDirectory("tomcat");
    tomcat = new Tomcat();
    tomcat.setBaseDir(base.toString());
    Connector connector = new Connector();
    connector.setPort(0);
    connector.setProperty("address", "127.0.0.1");
    tomcat.setConnector(connector);
    Context context = tomcat.addContext("", base.toString());
    context.addServletContainerInitializer(new WsSci(), null);
    // Tomcat runs filters (its WebSocket upgrade is the WsFilter) only for requests mapped to a
    // servlet, so map one; it answers 404 to anything that is not an upgrade.
    Tomcat.addServlet(context, "default", new HttpServlet() {});
    context.addServletMappingDecoded("/", "default");
    // Initializers run in the order added: WsSci has created the ServerContainer by now.
    context.addServletContainerInitializer((classes, servletContext) -> {
      ServerContainer container = (ServerContainer) servletContext
          .getAttribute(ServerContainer.class.getName());
      // Tomcat checks its sessions' close and idle timeouts every 10 s by default; fanout drives
      // the close timeout from its close deadline, so check every second (docs/embedding.md).
      ((WsWebSocketContainer) container).setProcessPeriod(1);
      try {
        container.addEndpoint(config);
      } catch (DeploymentException e) {
        throw new IllegalStateException(e);
      }
    }, null);
    tomcat.start();
    return URI.create("ws://127.0.0.1:" + connector.getLocalPort() + config.getPath());
  }

  @Override
  public boolean closesUnresponsivePeers() {
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

}
