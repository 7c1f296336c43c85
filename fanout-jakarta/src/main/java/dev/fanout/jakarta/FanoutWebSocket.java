package dev.fanout.jakarta;

import dev.fanout.core.internal.Require;
import dev.fanout.protocol.Authentication;
import dev.fanout.protocol.FanoutNode;
import jakarta.websocket.Extension;
import jakarta.websocket.HandshakeResponse;
import jakarta.websocket.server.HandshakeRequest;
import jakarta.websocket.server.ServerEndpointConfig;
import java.util.List;
import java.util.Objects;

/**
 * Protocol v1 on any Jakarta WebSocket 2.1+ container (Tyrus, Jetty, Tomcat): serves a {@link
 * FanoutNode} at a path. The entry point of fanout-jakarta; everything the node decides (Origin,
 * authentication, limits, heartbeats, shutdown) is configured on the node.
 *
 * <pre>{@code
 * FanoutNode node = FanoutNode.builder()
 *     .allowedOrigins("https://ops.example.com")
 *     .authenticator(myAuthenticator)
 *     .build().start();
 * FanoutWebSocket ws = FanoutWebSocket.builder(node).path("/ws").build();
 * serverContainer.addEndpoint(ws.endpointConfig());
 * ...
 * node.shutdown(Duration.ofSeconds(5));   // 1001 Going Away to every client, paced
 * }</pre>
 *
 * <p>The handshake checks the Origin against the allow-list (403 before any upgrade), runs the
 * {@link dev.fanout.protocol.Authenticator}, and enforces connection caps; the Jakarta API cannot
 * choose the status of a refused handshake, so put a {@link HandshakeFilter} in front where the
 * container is a servlet container.
 */
public final class FanoutWebSocket {
  static final String AUTH_KEY = "dev.fanout.authentication";

  final FanoutNode node;
  private final String path;
  private final boolean compression;

  private FanoutWebSocket(Builder b) {
    this.node = b.node;
    this.path = b.path;
    this.compression = b.compression;
  }

  public static Builder builder(FanoutNode node) {
    return new Builder(node);
  }

  /** The configuration to deploy: {@code serverContainer.addEndpoint(ws.endpointConfig())}. */
  public ServerEndpointConfig endpointConfig() {
    return ServerEndpointConfig.Builder.create(FanoutEndpoint.class, path)
        .configurator(new Configurator())
        .build();
  }

  /** The node this endpoint serves. */
  public FanoutNode node() {
    return node;
  }

  /** Checks the Origin, authenticates, and hands each connection its own endpoint instance. */
  private final class Configurator extends ServerEndpointConfig.Configurator {
    @Override
    public boolean checkOrigin(String origin) {
      return node.allowsOrigin(origin);
    }

    @Override
    public void modifyHandshake(ServerEndpointConfig sec, HandshakeRequest request,
        HandshakeResponse response) {
      Authentication auth = node.check(new JakartaHandshake(request));
      if (!auth.allowed()) {
        throw new HandshakeRejectedException(auth.status(), auth.reason());
      }
      sec.getUserProperties().put(AUTH_KEY, auth);
    }

    /**
     * No extension unless compression was asked for: permessage-deflate compresses each frame
     * once per connection (undoing "encode once, write to many") and hides backpressure behind a
     * compressor. Browsers ask for it by default; containers such as Jetty grant it by default.
     */
    @Override
    public List<Extension> getNegotiatedExtensions(List<Extension> installed,
        List<Extension> requested) {
      return compression ? super.getNegotiatedExtensions(installed, requested) : List.of();
    }

    @Override
    public <T> T getEndpointInstance(Class<T> endpointClass) {
      return endpointClass.cast(new FanoutEndpoint(FanoutWebSocket.this));
    }
  }

  /** Builds a {@link FanoutWebSocket}. */
  public static final class Builder {
    private final FanoutNode node;
    private String path = "/ws";
    private boolean compression;

    private Builder(FanoutNode node) {
      this.node = Objects.requireNonNull(node, "node");
    }

    /** The endpoint path; default {@code /ws}. */
    public Builder path(String path) {
      Objects.requireNonNull(path, "path");
      Require.argument(path.startsWith("/"), "path must start with '/', got '%s'", path);
      this.path = path;
      return this;
    }

    /**
     * Whether to let clients negotiate permessage-deflate; default false. Compression costs CPU
     * per connection for every frame (the shared, encoded-once frame is compressed again for
     * each), so turn it on only where bandwidth is dearer than CPU (see docs/embedding.md).
     */
    public Builder compression(boolean enabled) {
      this.compression = enabled;
      return this;
    }

    public FanoutWebSocket build() {
      return new FanoutWebSocket(this);
    }
  }
}
