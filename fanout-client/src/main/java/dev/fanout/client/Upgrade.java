package dev.fanout.client;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/** The HTTP side of a client's upgrade: the request, and reading the server's answer. */
final class Upgrade {
  private static final int MAX_HEAD = 16 * 1024;
  private static final byte[] HEAD_END = {'\r', '\n', '\r', '\n'};
  private static final String GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

  private Upgrade() {}

  /** A fresh Sec-WebSocket-Key: 16 random bytes in base64. */
  static String newKey() {
    byte[] nonce = new byte[16];
    ThreadLocalRandom.current().nextBytes(nonce);
    return Base64.getEncoder().encodeToString(nonce);
  }

  /** The Sec-WebSocket-Accept a server must answer {@code key} with. */
  static String accept(String key) {
    try {
      byte[] sha1 = MessageDigest.getInstance("SHA-1")
          .digest((key + GUID).getBytes(StandardCharsets.US_ASCII));
      return Base64.getEncoder().encodeToString(sha1);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-1", e);
    }
  }

  /**
   * The upgrade request for {@code uri} (its path and query as they are) with {@code key}; a
   * header in {@code headers} replaces the one of the same name the upgrade would send.
   *
   * @throws IllegalArgumentException if a header holds a line break
   */
  static byte[] request(URI uri, Map<String, String> headers, String key) {
    Map<String, String> all = new LinkedHashMap<>();
    all.put("host", "Host: " + uri.getHost() + ":" + uri.getPort());
    all.put("upgrade", "Upgrade: websocket");
    all.put("connection", "Connection: Upgrade");
    all.put("sec-websocket-key", "Sec-WebSocket-Key: " + key);
    all.put("sec-websocket-version", "Sec-WebSocket-Version: 13");
    headers.forEach((name, value) -> {
      if ((name + value).indexOf('\r') >= 0 || (name + value).indexOf('\n') >= 0) {
        throw new IllegalArgumentException("a line break in the header " + name);
      }
      all.put(name.toLowerCase(Locale.ROOT), name + ": " + value);
    });
    String target = uri.getRawPath() + (uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery());
    StringBuilder r = new StringBuilder("GET ").append(target.isEmpty() ? "/" : target)
        .append(" HTTP/1.1\r\n");
    all.values().forEach(line -> r.append(line).append("\r\n"));
    return r.append("\r\n").toString().getBytes(StandardCharsets.UTF_8);
  }

  /**
   * What the server answered: its head and, unless it is a 101, its body; {@code rest} holds
   * the bytes read past a 101's head (the first frames).
   */
  record Exchange(ProtocolClient.Answer answer, byte[] rest) {}

  /** Reads the server's answer to an upgrade request from {@code in}. */
  static Exchange read(InputStream in) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    byte[] chunk = new byte[4096];
    int end;
    try {
      while ((end = indexOf(bytes.toByteArray(), HEAD_END)) < 0) {
        int n = in.read(chunk);
        if (n < 0 || bytes.size() > MAX_HEAD) {
          return noResponse(bytes);
        }
        bytes.write(chunk, 0, n);
      }
    } catch (SocketTimeoutException | SocketException e) {
      return noResponse(bytes);
    }
    byte[] all = bytes.toByteArray();
    String head = new String(all, 0, end + HEAD_END.length, StandardCharsets.ISO_8859_1);
    byte[] rest = Arrays.copyOfRange(all, end + HEAD_END.length, all.length);
    int status = status(head);
    if (status == 101) {
      return new Exchange(new ProtocolClient.Answer(status, head, ""), rest);
    }
    int length = 0;
    for (String line : head.split("\r\n")) {
      if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
        length = Integer.parseInt(line.substring(15).trim());
      }
    }
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    body.write(rest, 0, Math.min(rest.length, length));
    try {
      body.write(in.readNBytes(length - body.size()));
    } catch (SocketTimeoutException | SocketException e) {
      // what came of the body before the server went away
    }
    return new Exchange(new ProtocolClient.Answer(status, head,
        body.toString(StandardCharsets.UTF_8)), new byte[0]);
  }

  private static Exchange noResponse(ByteArrayOutputStream bytes) {
    String partial = bytes.toString(StandardCharsets.ISO_8859_1);
    return new Exchange(new ProtocolClient.Answer(ProtocolClient.NO_RESPONSE, partial, ""),
        new byte[0]);
  }

  private static int status(String head) {
    if (!head.startsWith("HTTP/1.1 ") || head.length() < 12) {
      return ProtocolClient.NO_RESPONSE;
    }
    try {
      return Integer.parseInt(head.substring(9, 12));
    } catch (NumberFormatException e) {
      return ProtocolClient.NO_RESPONSE;
    }
  }

  /** The value of header {@code name} in {@code head}, or null. */
  static String header(String head, String name) {
    String prefix = name.toLowerCase(Locale.ROOT) + ":";
    for (String line : head.split("\r\n")) {
      if (line.toLowerCase(Locale.ROOT).startsWith(prefix)) {
        return line.substring(prefix.length()).trim();
      }
    }
    return null;
  }

  private static int indexOf(byte[] b, byte[] needle) {
    outer:
    for (int i = 0; i <= b.length - needle.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (b[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }
}
