package dev.fanout.example;

import jakarta.websocket.DeploymentException;
import jakarta.websocket.server.ServerEndpointConfig;
import java.io.IOException;
import java.util.Map;
import java.util.Set;
import org.glassfish.grizzly.http.server.HttpHandler;
import org.glassfish.grizzly.http.server.HttpServer;
import org.glassfish.grizzly.http.server.NetworkListener;
import org.glassfish.grizzly.strategies.WorkerThreadIOStrategy;
import org.glassfish.tyrus.container.grizzly.server.TyrusAddOns;
import org.glassfish.tyrus.core.TyrusWebSocketEngine;
import org.glassfish.tyrus.server.TyrusServerContainer;
import org.glassfish.tyrus.spi.WebSocketEngine;

/**
 * Tyrus on a Grizzly HttpServer of our own: WebSocket endpoints and plain HTTP handlers on one
 * port. Mirrors Tyrus's own standalone Grizzly container, plus the handlers.
 */
final class WebServer extends TyrusServerContainer {
  private final TyrusWebSocketEngine engine;
  private final HttpServer http = new HttpServer();
  private final NetworkListener listener;

  WebServer(String host, int port, Map<String, HttpHandler> handlers) {
    super((Set<Class<?>>) null);
    this.engine = TyrusWebSocketEngine.builder(this).build();
    this.listener = new NetworkListener("fanout", host, port);
    http.addListener(listener);
    listener.getTransport().setIOStrategy(WorkerThreadIOStrategy.getInstance());
    listener.getKeepAlive().setIdleTimeoutInSeconds(-1); // WebSocket liveness is fanout's heartbeat
    listener.registerAddOn(TyrusAddOns.webSocket(this, "/"));
    handlers.forEach((path, handler) ->
        http.getServerConfiguration().addHttpHandler(handler, path));
  }

  /** Binds the port and serves the HTTP handlers; returns the port bound. */
  int listen() throws IOException {
    http.start();
    return listener.getPort();
  }

  /** Deploys the WebSocket endpoint; call after {@link #listen()}. */
  void deploy(ServerEndpointConfig endpoint) throws IOException, DeploymentException {
    addEndpoint(endpoint);
    start("/", listener.getPort());
    doneDeployment();
  }

  /** The port actually bound (useful with port 0). */
  @Override
  public int getPort() {
    return listener.getPort();
  }

  @Override
  public void register(Class<?> endpointClass) throws DeploymentException {
    engine.register(endpointClass, "/");
  }

  @Override
  public void register(ServerEndpointConfig config) throws DeploymentException {
    engine.register(config, "/");
  }

  @Override
  public WebSocketEngine getWebSocketEngine() {
    return engine;
  }

  /** Stops accepting and closes every socket. */
  @Override
  public void stop() {
    super.stop();
    http.shutdownNow();
  }
}
