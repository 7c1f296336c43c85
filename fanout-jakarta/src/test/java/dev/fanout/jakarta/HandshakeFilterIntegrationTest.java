package dev.fanout.jakarta;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fanout.client.ProtocolClient;
import dev.fanout.core.Scope;
import dev.fanout.protocol.Authentication;
import dev.fanout.protocol.FanoutNode;
import jakarta.servlet.DispatcherType;
import java.net.URI;
import java.util.EnumSet;
import java.util.Map;
import org.eclipse.jetty.ee10.servlet.FilterHolder;
import org.eclipse.jetty.ee10.servlet.FilterMapping;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.websocket.jakarta.server.config.JakartaWebSocketServletContainerInitializer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** With {@link HandshakeFilter} in front, refusals get their exact HTTP status (Jetty 12). */
class HandshakeFilterIntegrationTest {
  private Server server;
  private FanoutNode node;
  private URI uri;

  @BeforeEach
  void start() throws Exception {
    node = FanoutNode.builder()
        .allowedOrigins("https://ops.example.com")
        .maxConnections(2)
        .authenticator(req -> {
          String token = req.parameter("token");
          if (token == null) {
            return Authentication.unauthorized("token missing");
          }
          return token.equals("ops") ? Authentication.allow("ops", Scope.all())
              : Authentication.forbidden("not an operator");
        })
        .build().start();
    FanoutWebSocket ws = FanoutWebSocket.builder(node).build();
    server = new Server();
    ServerConnector connector = new ServerConnector(server);
    connector.setHost("127.0.0.1");
    server.addConnector(connector);
    ServletContextHandler context = new ServletContextHandler("/");
    JakartaWebSocketServletContainerInitializer.configure(context,
        (servletContext, container) -> container.addEndpoint(ws.endpointConfig()));
    server.setHandler(context);
    server.start();
    // Jetty puts its own upgrade filter first when the context starts; ours must run before it.
    FilterHolder holder = new FilterHolder(new HandshakeFilter(node));
    FilterMapping mapping = new FilterMapping();
    mapping.setFilterName(holder.getName());
    mapping.setPathSpec("/ws");
    mapping.setDispatcherTypes(EnumSet.of(DispatcherType.REQUEST));
    context.getServletHandler().prependFilter(holder);
    context.getServletHandler().prependFilterMapping(mapping);
    uri = URI.create("ws://127.0.0.1:" + connector.getLocalPort() + "/ws");
  }

  @AfterEach
  void stop() throws Exception {
    node.close();
    server.stop();
  }

  @Test
  void refusalsCarryTheirStatus() throws Exception {
    assertThat(ProtocolClient.status(uri, Map.of())).isEqualTo(401);
    assertThat(ProtocolClient.status(URI.create(uri + "?token=guest"), Map.of())).isEqualTo(403);
    assertThat(ProtocolClient.status(URI.create(uri + "?token=ops"),
        Map.of("Origin", "https://evil.example"))).isEqualTo(403);
    assertThat(ProtocolClient.status(URI.create(uri + "?token=ops"),
        Map.of("Origin", "https://ops.example.com"))).isEqualTo(101);
  }

  @Test
  void anotherWebSocketVersionGets426AndTheVersionThisServerSpeaks() throws Exception {
    ProtocolClient.Answer answer = ProtocolClient.answer(URI.create(uri + "?token=ops"),
        Map.of("Sec-WebSocket-Version", "8"));
    assertThat(answer.status()).isEqualTo(426);
    assertThat(answer.head()).containsIgnoringCase("Sec-WebSocket-Version: 13");
  }

  @Test
  void aRefusalIsAShortPlainAnswerAndIsCounted() throws Exception {
    for (int i = 0; i < 50; i++) {
      ProtocolClient.Answer answer =
          ProtocolClient.answer(URI.create(uri + "?token=guest"), Map.of());
      assertThat(answer.status()).isEqualTo(403);
      assertThat(answer.body()).isEqualTo("not an operator\n");
    }
    assertThat(node.refusedHandshakes()).containsEntry("403 not an operator", 50L);
  }

  @Test
  void aShuttingDownNodeAnswers503() throws Exception {
    node.close();
    assertThat(ProtocolClient.status(URI.create(uri + "?token=ops"), Map.of())).isEqualTo(503);
  }
}
