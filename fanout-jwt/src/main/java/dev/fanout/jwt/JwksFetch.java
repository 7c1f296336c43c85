package dev.fanout.jwt;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * One GET of a JWKS document, bounded: a connect timeout, a read timeout per read, a deadline
 * for the whole body (so a server that trickles bytes is cut off too), a size cap, and no
 * redirects (the configured URL is the only place keys come from).
 */
final class JwksFetch {
  /** The largest JWKS read: real ones are a few KiB, with certificate chains a few tens. */
  static final int MAX_BYTES = 256 * 1024;

  private final URI url;
  private final int timeoutMillis;

  JwksFetch(URI url, Duration timeout) {
    this.url = url;
    this.timeoutMillis = (int) Math.min(Integer.MAX_VALUE, timeout.toMillis());
  }

  /** The document's text; an IOException says why not (status, timeout, size). */
  String get() throws IOException {
    long deadline = System.nanoTime() + Duration.ofMillis(timeoutMillis).toNanos() * 2;
    HttpURLConnection c = (HttpURLConnection) url.toURL().openConnection();
    try {
      c.setConnectTimeout(timeoutMillis);
      c.setReadTimeout(timeoutMillis);
      c.setInstanceFollowRedirects(false);
      c.setUseCaches(false);
      c.setRequestProperty("Accept", "application/jwk-set+json, application/json");
      int status = c.getResponseCode();
      if (status != 200) {
        throw new IOException("HTTP " + status);
      }
      try (InputStream in = c.getInputStream()) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        for (int n = in.read(buf); n >= 0; n = in.read(buf)) {
          body.write(buf, 0, n);
          if (body.size() > MAX_BYTES) {
            throw new IOException("the JWKS is over " + MAX_BYTES + " bytes");
          }
          if (System.nanoTime() - deadline > 0) {
            throw new IOException("the JWKS took over " + 2 * timeoutMillis + " ms");
          }
        }
        return body.toString(StandardCharsets.UTF_8);
      }
    } finally {
      c.disconnect();
    }
  }
}
