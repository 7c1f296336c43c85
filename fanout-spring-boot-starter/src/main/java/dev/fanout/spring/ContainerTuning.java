package dev.fanout.spring;

import jakarta.servlet.ServletContext;
import jakarta.websocket.server.ServerContainer;
import org.apache.tomcat.websocket.WsWebSocketContainer;
import org.eclipse.jetty.server.ServerConnector;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.jetty.ConfigurableJettyWebServerFactory;
import org.springframework.boot.tomcat.ConfigurableTomcatWebServerFactory;
import org.springframework.boot.web.server.WebServerFactoryCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.web.context.ServletContextAware;

/**
 * What fanout needs of the application's servlet container beyond the Jakarta API, each applied
 * only when the application runs on that container (no hard dependency on either):
 *
 * <ul>
 *   <li>Tomcat checks its WebSocket sessions' close timeouts only every {@code processPeriod}
 *       seconds (10 by default). fanout drives those timeouts from its close deadline ({@code
 *       fanout.close-deadline}), so a peer that never answers a close would keep its socket up to
 *       10 s longer than the deadline: the period is set to 1 s (docs/embedding.md).
 *   <li>Each accepted connection's kernel send buffer is capped at {@code fanout.send-buffer}
 *       (64 KiB), so a client that stops reading pins a bounded amount of kernel memory instead
 *       of what Linux's autotuning grows a send buffer to (4 MiB): Tomcat's connector property
 *       {@code socket.txBufSize}, Jetty's {@code ServerConnector.setAcceptedSendBufferSize}.
 * </ul>
 */
final class ContainerTuning {
  /** Tomcat checks its sessions' timeouts this often, in seconds: fanout's deadlines need 1. */
  static final int TOMCAT_PROCESS_PERIOD = 1;

  private ContainerTuning() {}

  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(name = {"org.apache.tomcat.websocket.WsWebSocketContainer",
      "org.springframework.boot.tomcat.ConfigurableTomcatWebServerFactory"})
  static class Tomcat {
    @Bean
    WebServerFactoryCustomizer<ConfigurableTomcatWebServerFactory> fanoutTomcatSendBuffer(
        FanoutProperties props) {
      return factory -> {
        long bytes = props.getSendBuffer().toBytes();
        if (bytes > 0) {
          factory.addConnectorCustomizers(
              connector -> connector.setProperty("socket.txBufSize", Long.toString(bytes)));
        }
      };
    }

    /** The application's WebSocket container exists once the servlet context does. */
    @Bean
    ServletContextAware fanoutTomcatProcessPeriod() {
      return ContainerTuning::tomcatProcessPeriod;
    }
  }

  static void tomcatProcessPeriod(ServletContext servletContext) {
    Object container = servletContext.getAttribute(ServerContainer.class.getName());
    if (container instanceof WsWebSocketContainer tomcat) {
      tomcat.setProcessPeriod(TOMCAT_PROCESS_PERIOD);
    }
  }

  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(name = {"org.eclipse.jetty.server.ServerConnector",
      "org.springframework.boot.jetty.ConfigurableJettyWebServerFactory"})
  static class Jetty {
    @Bean
    WebServerFactoryCustomizer<ConfigurableJettyWebServerFactory> fanoutJettySendBuffer(
        FanoutProperties props) {
      return factory -> {
        long bytes = props.getSendBuffer().toBytes();
        if (bytes > 0) {
          factory.addServerCustomizers(server -> {
            for (org.eclipse.jetty.server.Connector c : server.getConnectors()) {
              if (c instanceof ServerConnector connector) {
                connector.setAcceptedSendBufferSize((int) bytes);
              }
            }
          });
        }
      };
    }
  }
}
