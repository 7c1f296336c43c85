package dev.fanout.jwt;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import dev.fanout.core.internal.DaemonThreads;
import java.io.IOException;
import java.net.URI;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keys from a JWKS URL, cached. The rules:
 *
 * <ul>
 *   <li>A known {@code kid} never waits for the network. When the keys are older than {@code
 *       maxAge}, that handshake starts a refresh in the background and goes on with the keys it
 *       has.
 *   <li>An unknown {@code kid} starts a refresh unless one started less than {@code interval}
 *       ago (a flood of unknown kids costs one fetch per interval), and waits for the refresh in
 *       flight at most {@code wait}; then it is looked up again.
 *   <li>A refresh that fails (down, slow, not JSON, not 200) keeps the keys known; one that
 *       succeeds replaces them all, so a key the issuer removed stops verifying.
 * </ul>
 *
 * One fetch at a time, on a daemon thread of its own that ends when idle. Times come from the
 * injected {@link Clock}; the wait is real time.
 */
final class JwksKeys implements KeySource {
  private static final Logger log = LoggerFactory.getLogger(JwtAuthenticator.class);

  private final URI url;
  private final Set<JwtAlgorithm> algorithms;
  private final Clock clock;
  private final Duration interval;
  private final Duration maxAge;
  private final long waitNanos;
  private final JwksFetch fetch;
  private final ThreadPoolExecutor fetcher;

  private final AtomicInteger fetchesDone = new AtomicInteger();
  private final Object lock = new Object();
  private volatile Snapshot keys = Snapshot.EMPTY;
  private Instant lastAttempt; // guarded by lock; null: never
  private CompletableFuture<Void> inFlight; // guarded by lock; null: none

  /** The keys of one successful fetch, by (kid, algorithm); keys without a kid apart. */
  private static final class Snapshot {
    static final Snapshot EMPTY = new Snapshot(Map.of(), List.of(), null);

    final Map<String, List<SigningKey>> byKid;
    final List<SigningKey> withoutKid;
    final Instant fetchedAt; // null: never fetched

    Snapshot(Map<String, List<SigningKey>> byKid, List<SigningKey> withoutKid,
        Instant fetchedAt) {
      this.byKid = byKid;
      this.withoutKid = withoutKid;
      this.fetchedAt = fetchedAt;
    }

    /** A kid names one key per algorithm; no kid: the one key for the algorithm, if only one. */
    SigningKey find(JwtAlgorithm algorithm, String kid) {
      List<SigningKey> candidates = kid == null ? all() : byKid.getOrDefault(kid, List.of());
      SigningKey found = null;
      for (SigningKey k : candidates) {
        if (k.algorithm() == algorithm) {
          if (found != null) {
            return null; // two candidates: never guess
          }
          found = k;
        }
      }
      return found;
    }

    private List<SigningKey> all() {
      List<SigningKey> all = new ArrayList<>(withoutKid);
      byKid.values().forEach(all::addAll);
      return all;
    }

    int size() {
      return withoutKid.size() + byKid.values().stream().mapToInt(List::size).sum();
    }
  }

  JwksKeys(URI url, Set<JwtAlgorithm> algorithms, Clock clock, Duration interval,
      Duration maxAge, Duration wait, Duration timeout) {
    this.url = url;
    this.algorithms = Collections.unmodifiableSet(EnumSet.copyOf(algorithms));
    this.clock = clock;
    this.interval = interval;
    this.maxAge = maxAge;
    this.waitNanos = wait.toNanos();
    this.fetch = new JwksFetch(url, timeout);
    this.fetcher = new ThreadPoolExecutor(1, 1, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
        DaemonThreads.named("fanout-jwks"));
    fetcher.allowCoreThreadTimeOut(true);
  }

  /** Starts the first fetch, so that the first handshakes find the keys already there. */
  JwksKeys start() {
    refresh();
    return this;
  }

  @Override
  public SigningKey find(JwtAlgorithm algorithm, String kid) {
    Snapshot now = keys;
    SigningKey key = now.find(algorithm, kid);
    if (key != null) {
      if (now.fetchedAt != null && !clock.instant().isBefore(now.fetchedAt.plus(maxAge))) {
        refresh(); // in the background: this handshake goes on with the key it has
      }
      return key;
    }
    CompletableFuture<Void> refreshing = refresh();
    if (refreshing == null || waitNanos == 0) {
      return null;
    }
    try {
      refreshing.get(waitNanos, TimeUnit.NANOSECONDS);
    } catch (TimeoutException | ExecutionException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
    return keys.find(algorithm, kid);
  }

  /**
   * The refresh in flight, or a new one if none started within the interval, or null: at most
   * one fetch per interval, whatever asks.
   */
  CompletableFuture<Void> refresh() {
    synchronized (lock) {
      if (inFlight != null) {
        return inFlight;
      }
      Instant now = clock.instant();
      if (lastAttempt != null && now.isBefore(lastAttempt.plus(interval))) {
        return null;
      }
      lastAttempt = now;
      CompletableFuture<Void> done = new CompletableFuture<>();
      inFlight = done;
      fetcher.execute(() -> {
        try {
          load();
        } finally {
          synchronized (lock) {
            inFlight = null;
          }
          fetchesDone.incrementAndGet();
          done.complete(null);
        }
      });
      return done;
    }
  }

  /** Fetches finished so far, failed or not (for tests that must not race the first one). */
  int fetchesDone() {
    return fetchesDone.get();
  }

  private void load() {
    Snapshot before = keys;
    try {
      JWKSet set = JWKSet.parse(fetch.get());
      Map<String, List<SigningKey>> byKid = new HashMap<>();
      List<SigningKey> withoutKid = new ArrayList<>();
      int skipped = 0;
      for (JWK jwk : set.getKeys()) {
        SigningKey key = Keys.jwk(jwk, algorithms);
        if (key == null) {
          skipped++;
        } else if (jwk.getKeyID() == null) {
          withoutKid.add(key);
        } else {
          byKid.computeIfAbsent(jwk.getKeyID(), k -> new ArrayList<>()).add(key);
        }
      }
      byKid.replaceAll((kid, list) -> List.copyOf(list));
      Snapshot after = new Snapshot(Map.copyOf(byKid), List.copyOf(withoutKid),
          clock.instant());
      keys = after;
      log.debug("JWKS {}: {} signing keys for {} ({} entries not usable), kids {}", url,
          after.size(), algorithms, skipped, after.byKid.keySet());
    } catch (IOException | ParseException | JOSEException | RuntimeException e) {
      log.warn("JWKS fetch from {} failed ({}); keeping the {} keys known, next try in {} at "
          + "the earliest", url, e.toString(), before.size(), interval);
    }
  }
}
