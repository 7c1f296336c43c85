package dev.fanout.redis;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A test CA ({@code ca.pem}) and a certificate for 127.0.0.1 signed by it ({@code server.pem},
 * {@code server.key}), made with openssl in a directory: what a TLS Redis in a test needs.
 */
final class TestCertificates {
  private TestCertificates() {}

  static void create(Path dir) throws IOException, InterruptedException {
    run(dir, "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key",
        "-out", "ca.pem", "-days", "2", "-subj", "/CN=fanout test CA");
    run(dir, "openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key",
        "-out", "server.csr", "-subj", "/CN=127.0.0.1");
    Files.writeString(dir.resolve("ext"), "subjectAltName=IP:127.0.0.1\n");
    run(dir, "openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "ext");
  }

  /**
   * A client certificate signed by the test CA of {@link #create}, as a PKCS12 keystore {@code
   * client.p12} with password {@code changeit}.
   */
  static Path clientKeystore(Path dir) throws IOException, InterruptedException {
    run(dir, "openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "client.key",
        "-out", "client.csr", "-subj", "/CN=fanout test client");
    run(dir, "openssl", "x509", "-req", "-in", "client.csr", "-CA", "ca.pem", "-CAkey",
        "ca.key", "-CAcreateserial", "-out", "client.pem", "-days", "2");
    run(dir, "openssl", "pkcs12", "-export", "-in", "client.pem", "-inkey", "client.key",
        "-out", "client.p12", "-passout", "pass:changeit");
    return dir.resolve("client.p12");
  }

  private static void run(Path dir, String... cmd) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IllegalStateException(String.join(" ", cmd) + " failed:\n" + out);
    }
  }
}
