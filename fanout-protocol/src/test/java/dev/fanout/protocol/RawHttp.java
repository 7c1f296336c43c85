package dev.fanout.protocol;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * An HTTP request written byte for byte, in one packet, on a fresh connection, and the head of
 * its answer: for the requests no client library sends (junk headers, two Hosts, obs-fold, a
 * frame in the upgrade's packet).
 */
public final class RawHttp {
  /** The status when the server closed the connection without an answer. */
  public static final int NO_ANSWER = -1;

  private RawHttp() {}

  /** An answer's status line and headers. */
  public record Answer(int status, String head) {
    /** The first value of header {@code name} (case-insensitive), or null. */
    public String header(String name) {
      String prefix = name.toLowerCase(Locale.ROOT) + ":";
      for (String line : head.split("\r\n")) {
        if (line.toLowerCase(Locale.ROOT).startsWith(prefix)) {
          return line.substring(prefix.length()).trim();
        }
      }
      return null;
    }
  }

  /** Sends {@code request} (ISO-8859-1) to {@code uri}'s host and port; the answer's head. */
  public static Answer send(URI uri, String request) throws IOException {
    return send(uri, request.getBytes(StandardCharsets.ISO_8859_1));
  }

  /** Sends {@code request} to {@code uri}'s host and port; the answer's head. */
  public static Answer send(URI uri, byte[] request) throws IOException {
    try (Socket s = connect(uri)) {
      s.getOutputStream().write(request);
      String head = readHead(s.getInputStream());
      return new Answer(status(head), head);
    }
  }

  /** A connection whose every write leaves at once, as one packet; reads time out after 10 s. */
  public static Socket connect(URI uri) throws IOException {
    Socket s = new Socket(uri.getHost(), uri.getPort());
    s.setTcpNoDelay(true);
    s.setSoTimeout(10_000);
    return s;
  }

  /** Reads up to and including the blank line that ends an HTTP head. */
  public static String readHead(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int matched = 0;
    int b;
    while (matched < 4 && (b = in.read()) != -1) {
      head.write(b);
      matched = (b == '\r' || b == '\n') ? matched + 1 : 0;
    }
    return head.toString(StandardCharsets.ISO_8859_1);
  }

  /** The status of a head, or {@link #NO_ANSWER}. */
  public static int status(String head) {
    return head.startsWith("HTTP/1.1 ") ? Integer.parseInt(head.substring(9, 12)) : NO_ANSWER;
  }
}
