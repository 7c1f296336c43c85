package dev.fanout.client;

import java.io.IOException;
import java.net.URI;

/** The server answered an upgrade with something other than 101: its status, head and body. */
public final class UpgradeRefusedException extends IOException {
  private static final long serialVersionUID = 1L;

  private final transient ProtocolClient.Answer answer;

  UpgradeRefusedException(URI uri, ProtocolClient.Answer answer) {
    super("upgrade to " + uri + " refused: "
        + (answer.status() == ProtocolClient.NO_RESPONSE ? "no response"
            : answer.head().lines().findFirst().orElse("") + " " + answer.body().trim()));
    this.answer = answer;
  }

  /** The server's answer ({@link ProtocolClient#NO_RESPONSE} if it closed without one). */
  public ProtocolClient.Answer answer() {
    return answer;
  }

  public int status() {
    return answer.status();
  }

  public String body() {
    return answer.body();
  }
}
