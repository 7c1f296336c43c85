/**
 * fanout in a Spring Boot 4 servlet application: {@link dev.fanout.spring.FanoutAutoConfiguration}
 * builds a {@link dev.fanout.protocol.FanoutNode} from {@link dev.fanout.spring.FanoutProperties}
 * ({@code fanout.*}), serves it on the application's Tomcat or Jetty, and ties it to Spring's
 * lifecycle ({@link dev.fanout.spring.FanoutLifecycle}), Actuator's health and Micrometer.
 * docs/spring-boot.md is the guide.
 */
package dev.fanout.spring;
