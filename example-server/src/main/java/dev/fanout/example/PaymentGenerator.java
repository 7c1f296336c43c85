package dev.fanout.example;

import dev.fanout.core.Publisher;
import dev.fanout.core.internal.DaemonThreads;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Plays a payment service: the server's merchants (by default {@link Merchants#demo()}'s
 * dozen), several methods, payments moving authorized → captured or failed, and sometimes
 * captured → refunded. Each status change is one event:
 * topic = merchant id, attributes method, status, paymentId, data = the payment as JSON.
 */
final class PaymentGenerator implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PaymentGenerator.class);
  static final List<String> METHODS = List.of("card", "sepa", "wallet", "paypal");
  private static final long TICK_MILLIS = 10;

  private static final class Payment {
    final String id;
    final String merchant;
    final String method;
    final long amountCents;
    String status;

    Payment(String id, String merchant, String method, long amountCents) {
      this.id = id;
      this.merchant = merchant;
      this.method = method;
      this.amountCents = amountCents;
    }
  }

  private final Publisher sink;
  private final List<String> merchants;
  private final double perSecond;
  private final Random random = new Random();
  private final List<Payment> open = new ArrayList<>();
  private final ScheduledExecutorService timer;
  private long next = 1;
  private double owed;
  private volatile long published; // written by the timer thread only
  private long failures;

  PaymentGenerator(Publisher sink, double perSecond) {
    this(sink, perSecond, Merchants.demo().ids());
  }

  /** Publishes for {@code merchants}: the server's directory ({@link Merchants}). */
  PaymentGenerator(Publisher sink, double perSecond, List<String> merchants) {
    if (!(perSecond > 0)) {
      throw new IllegalArgumentException("rate must be positive, got " + perSecond);
    }
    this.sink = sink;
    this.merchants = List.copyOf(merchants);
    this.perSecond = perSecond;
    this.timer = Executors.newSingleThreadScheduledExecutor(
        DaemonThreads.named("payment-generator"));
  }

  void start() {
    timer.scheduleAtFixedRate(this::tick, 0, TICK_MILLIS, TimeUnit.MILLISECONDS);
    log.info("demo payment generator publishing {} events/s", perSecond);
  }

  private void tick() {
    owed += perSecond * TICK_MILLIS / 1000.0;
    while (owed >= 1) {
      owed -= 1;
      try {
        emit();
        published++;
      } catch (RuntimeException e) {
        if (failures++ % 100 == 0) {
          log.warn("publishing a demo payment failed ({} failures so far): {}", failures,
              e.getMessage());
        }
      }
    }
  }

  /**
   * Publishes one status change: opens a new payment (authorized), or advances an open one.
   * Only authorized and captured payments stay open; most captured ones are never refunded.
   */
  void emit() {
    Payment p;
    if (open.isEmpty() || (open.size() < 200 && random.nextInt(3) == 0)) {
      p = new Payment(String.format(Locale.ROOT, "pay_%06d", next++),
          merchants.get(random.nextInt(merchants.size())),
          METHODS.get(random.nextInt(METHODS.size())), 100 + random.nextInt(50_000));
      p.status = "authorized";
      open.add(p);
    } else {
      p = open.get(random.nextInt(open.size()));
      if (p.status.equals("authorized")) {
        p.status = random.nextInt(5) == 0 ? "failed" : "captured";
        if (p.status.equals("failed") || random.nextInt(10) != 0) {
          open.remove(p);
        }
      } else {
        p.status = "refunded";
        open.remove(p);
      }
    }
    sink.publish(p.merchant, Map.of("method", p.method, "status", p.status, "paymentId", p.id),
        json(p));
  }

  private static String json(Payment p) {
    return String.format(Locale.ROOT,
        "{\"paymentId\":\"%s\",\"merchantId\":\"%s\",\"method\":\"%s\",\"status\":\"%s\","
            + "\"amount\":%d.%02d,\"currency\":\"EUR\",\"publishedAt\":%d}",
        p.id, p.merchant, p.method, p.status, p.amountCents / 100, p.amountCents % 100,
        System.currentTimeMillis());
  }

  long published() {
    return published;
  }

  /** Publishes that failed (or were not acknowledged) so far; read after {@link #close}. */
  long failures() {
    return failures;
  }

  @Override
  public void close() {
    timer.shutdownNow();
    try {
      timer.awaitTermination(2, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
