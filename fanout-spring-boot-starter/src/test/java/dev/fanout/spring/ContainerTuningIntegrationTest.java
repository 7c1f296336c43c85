package dev.fanout.spring;

import static org.assertj.core.api.Assertions.assertThat;

import jakarta.servlet.ServletContext;
import jakarta.websocket.server.ServerContainer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.tomcat.websocket.WsWebSocketContainer;
import org.eclipse.jetty.server.ServerConnector;
import org.junit.jupiter.api.Test;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.jetty.JettyWebServer;
import org.springframework.boot.tomcat.TomcatWebServer;
import org.springframework.boot.web.server.WebServer;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.web.context.WebApplicationContext;

/**
 * The starter on a real Tomcat and a real Jetty, as the application's own web server: each
 * accepted connection's kernel send buffer is capped ({@code fanout.send-buffer}, 64 KiB unless
 * set; 0 leaves the OS's), and Tomcat checks its WebSocket close timeouts every second, so that a
 * closing connection whose peer never answers is gone within fanout's close deadline.
 */
class ContainerTuningIntegrationTest {
  static final String TOMCAT = "org.springframework.boot.tomcat.autoconfigure.servlet"
      + ".TomcatServletWebServerAutoConfiguration";
  static final String JETTY =
      "org.springframework.boot.jetty.autoconfigure.servlet.JettyServletWebServerAutoConfiguration";

  /** An application with nothing but auto-configuration: the starter, and a web server. */
  @SpringBootConfiguration(proxyBeanMethods = false)
  @EnableAutoConfiguration
  static class App {}

  /** Starts the application on one container (both are on this module's test classpath). */
  static ConfigurableApplicationContext start(String without, String... args) {
    List<String> all = new ArrayList<>(List.of("--server.port=0", "--server.address=127.0.0.1",
        "--spring.autoconfigure.exclude=" + without));
    all.addAll(Arrays.asList(args));
    return new SpringApplicationBuilder(App.class).run(all.toArray(String[]::new));
  }

  static WebServer webServer(ConfigurableApplicationContext app) {
    return ((WebServerApplicationContext) app).getWebServer();
  }

  @Test
  void onTomcatEachConnectionsSendBufferIs64KibByDefault() {
    try (ConfigurableApplicationContext app = start(JETTY)) {
      TomcatWebServer tomcat = (TomcatWebServer) webServer(app);
      assertThat(String.valueOf(tomcat.getTomcat().getConnector().getProperty("socket.txBufSize")))
          .isEqualTo("65536");
    }
    try (ConfigurableApplicationContext app = start(JETTY, "--fanout.send-buffer=16KB")) {
      TomcatWebServer tomcat = (TomcatWebServer) webServer(app);
      assertThat(String.valueOf(tomcat.getTomcat().getConnector().getProperty("socket.txBufSize")))
          .isEqualTo("16384");
    }
    try (ConfigurableApplicationContext app = start(JETTY, "--fanout.send-buffer=0")) {
      TomcatWebServer tomcat = (TomcatWebServer) webServer(app);
      // unset: Tomcat 11.0.22 reads it as null, 11.0.27 as 0; either way the OS decides
      assertThat(String.valueOf(tomcat.getTomcat().getConnector().getProperty("socket.txBufSize")))
          .isIn("null", "0");
    }
  }

  @Test
  void onTomcatWebSocketCloseTimeoutsAreCheckedEverySecond() {
    try (ConfigurableApplicationContext app = start(JETTY)) {
      ServletContext servlet = ((WebApplicationContext) app).getServletContext();
      Object container = servlet.getAttribute(ServerContainer.class.getName());
      assertThat(container).isInstanceOf(WsWebSocketContainer.class);
      assertThat(((WsWebSocketContainer) container).getProcessPeriod()).isEqualTo(1);
    }
  }

  @Test
  void onJettyEachConnectionsSendBufferIs64KibByDefault() {
    try (ConfigurableApplicationContext app = start(TOMCAT)) {
      assertThat(acceptedSendBuffers(app)).containsExactly(65536);
    }
    try (ConfigurableApplicationContext app = start(TOMCAT, "--fanout.send-buffer=16KB")) {
      assertThat(acceptedSendBuffers(app)).containsExactly(16384);
    }
    try (ConfigurableApplicationContext app = start(TOMCAT, "--fanout.send-buffer=0")) {
      assertThat(acceptedSendBuffers(app)).containsExactly(-1); // Jetty's: the OS decides
    }
  }

  private static List<Integer> acceptedSendBuffers(ConfigurableApplicationContext app) {
    JettyWebServer jetty = (JettyWebServer) webServer(app);
    return Arrays.stream(jetty.getServer().getConnectors())
        .map(c -> ((ServerConnector) c).getAcceptedSendBufferSize()).toList();
  }
}
