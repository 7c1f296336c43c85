package com.example.feed;

import dev.fanout.core.EventId;
import dev.fanout.core.Publisher;
import java.util.Map;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;
import tools.jackson.databind.ObjectMapper;

/** A service with a live feed at /ws: it publishes each payment it is told about. */
@SpringBootApplication
@RestController
public class FeedApplication {
  private final Publisher publisher; // the starter's FanoutNode
  private final ObjectMapper json;

  public FeedApplication(Publisher publisher, ObjectMapper json) {
    this.publisher = publisher;
    this.json = json;
  }

  public static void main(String[] args) {
    SpringApplication.run(FeedApplication.class, args);
  }

  public record Payment(String paymentId, String merchantId, String method, String status) {}

  @PostMapping("/payments")
  public Map<String, String> paymentChanged(@RequestBody Payment p) {
    // topic: what clients subscribe to (the merchant); attributes: what they filter on;
    // data: the JSON every subscribed dashboard receives, verbatim
    EventId id = publisher.publish(p.merchantId(),
        Map.of("method", p.method(), "status", p.status()), json.writeValueAsString(p));
    return Map.of("id", id.toString());
  }
}
