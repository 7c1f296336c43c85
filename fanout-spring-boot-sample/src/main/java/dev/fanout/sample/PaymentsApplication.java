package dev.fanout.sample;

import dev.fanout.core.EventId;
import dev.fanout.core.Publisher;
import dev.fanout.core.Scope;
import dev.fanout.protocol.Authentication;
import dev.fanout.protocol.Authenticator;
import java.security.Principal;
import java.util.List;
import java.util.Map;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.annotation.Bean;
import org.springframework.security.config.Customizer;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.core.userdetails.User;
import org.springframework.security.core.userdetails.UserDetailsService;
import org.springframework.security.provisioning.InMemoryUserDetailsManager;
import org.springframework.security.web.SecurityFilterChain;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;
import tools.jackson.databind.ObjectMapper;

/**
 * A payment service with a live feed for its operators' dashboards. Everything about the feed is
 * the starter's; the service adds who may see what ({@link #feedAccess}) and publishes.
 */
@SpringBootApplication
public class PaymentsApplication {
  /** Which merchants each operator may watch; absent: every merchant. */
  static final Map<String, List<String>> MERCHANTS_OF = Map.of("acme-support", List.of("mch_1"));

  public static void main(String[] args) {
    SpringApplication.run(PaymentsApplication.class, args);
  }

  /** Operators sign in with HTTP Basic; health and metrics stay open to the platform. */
  @Bean
  SecurityFilterChain security(HttpSecurity http) throws Exception {
    return http
        .authorizeHttpRequests(a -> a.requestMatchers("/actuator/**", "/error").permitAll()
            .anyRequest().authenticated())
        .httpBasic(Customizer.withDefaults())
        .csrf(c -> c.ignoringRequestMatchers("/payments"))
        .build();
  }

  @Bean
  UserDetailsService operators() {
    return new InMemoryUserDetailsManager(
        User.withUsername("ops").password("{noop}ops").roles("OPS").build(),
        User.withUsername("acme-support").password("{noop}acme").roles("OPS").build());
  }

  /** The user Spring Security authenticated, scoped to the merchants they may watch. */
  @Bean
  Authenticator feedAccess() {
    return handshake -> {
      Principal user = handshake.userPrincipal();
      if (user == null) {
        return Authentication.unauthorized("sign in first");
      }
      List<String> merchants = MERCHANTS_OF.get(user.getName());
      return Authentication.allow(user.getName(),
          merchants == null ? Scope.all() : Scope.of(merchants));
    };
  }

  /** What the payment flow calls when a payment changes status. */
  @RestController
  static class Payments {
    private final Publisher publisher;
    private final ObjectMapper json;

    Payments(Publisher publisher, ObjectMapper json) {
      this.publisher = publisher;
      this.json = json;
    }

    record Payment(String paymentId, String merchantId, String method, String status,
        double amount) {}

    @PostMapping("/payments")
    Map<String, String> changed(@RequestBody Payment p) {
      // topic: the merchant; attributes: what subscriptions and filters select on; data: the
      // JSON the dashboards receive, verbatim
      EventId id = publisher.publish(p.merchantId(),
          Map.of("method", p.method(), "status", p.status()), json.writeValueAsString(p));
      return Map.of("id", id.toString());
    }
  }
}
