package dev.fanout.client;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.fanout.core.internal.DaemonThreads;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.function.IntConsumer;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A client of protocol v1 over a plain socket, recorder style (OkHttp's {@code
 * WebSocketRecorder}): it records every frame the server sends, unpacks {@code batch} frames into
 * events, and lets a test take frames in order ({@link #next}, {@link #nextFrame}) and check that
 * none is left unexplained ({@link #assertExhausted}). It can also misbehave as a test needs: stop
 * reading ({@link #stall}) to play a stalled page, leave pings unanswered, send frames no client
 * library would ({@link #sendRaw} with {@link FrameCodec#frame}).
 *
 * <pre>{@code
 * ProtocolClient c = ProtocolClient.connect(URI.create("ws://127.0.0.1:8080/ws"));
 * c.send("{\"type\":\"subscribe\",\"topics\":[\"mch_1\"]}");
 * JsonObject subscribed = c.nextOfType("subscribed");
 * }</pre>
 *
 * <p>One thread per client reads the socket (a daemon, named after it) and answers pings with
 * their payload, unless told not to; the thread that calls {@code send} writes. A refused upgrade
 * throws an {@link UpgradeRefusedException} with the server's status and body; {@link #answer}
 * and {@link #status} report any answer without connecting.
 */
public final class ProtocolClient implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ProtocolClient.class);

  /** The status reported when the server closed the connection without any HTTP response. */
  public static final int NO_RESPONSE = -1;
  /** The close code of a connection that ended without a close frame (RFC 6455 7.1.5). */
  public static final int ABNORMAL_CLOSURE = 1006;
  /** How long connecting, the upgrade and each {@code next} wait. */
  static final Duration TIMEOUT = Duration.ofSeconds(10);
  private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(5);
  /** Marks the end of the connection in the queue of frames. */
  private static final Received END = new Received(-1, false, null, null, null);

  /**
   * An HTTP answer to an upgrade request.
   *
   * @param status its status code, or {@link #NO_RESPONSE}
   * @param head its status line and headers, through the blank line that ends them
   * @param body its body (read as far as its Content-Length; empty for a 101)
   */
  public record Answer(int status, String head, String body) {}

  private final Connection connection;
  private final URI uri;
  private final boolean recording;
  private final Consumer<JsonObject> onMessage;
  private final IntConsumer onClose;
  private volatile boolean answering;

  private final LinkedBlockingDeque<Received> queue = new LinkedBlockingDeque<>();
  private final List<String> texts = Collections.synchronizedList(new ArrayList<>());
  private final List<JsonObject> messages = Collections.synchronizedList(new ArrayList<>());
  private final List<JsonObject> events = Collections.synchronizedList(new ArrayList<>());
  private final CompletableFuture<Integer> closed = new CompletableFuture<>();
  private volatile String closeReason;
  private volatile boolean tcpEnded;
  private volatile boolean closeSent;
  private volatile Throwable failure;

  private final Object gate = new Object();
  private boolean reading; // guarded by gate
  private boolean stopping; // guarded by gate

  private ProtocolClient(Builder b, Connection connection) {
    this.connection = connection;
    this.uri = b.uri;
    this.recording = b.recording;
    this.onMessage = b.onMessage;
    this.onClose = b.onClose;
    this.answering = b.answering;
    this.reading = b.reading;
  }

  /** Connects to {@code uri} (ws://) and upgrades. */
  public static ProtocolClient connect(URI uri) throws IOException {
    return builder(uri).connect();
  }

  /** Connects to {@code uri} (ws://) and upgrades, sending {@code headers} with the upgrade. */
  public static ProtocolClient connect(URI uri, Map<String, String> headers) throws IOException {
    return builder(uri).headers(headers).connect();
  }

  /** A client to build: headers, whether it reads and answers, what it records. */
  public static Builder builder(URI uri) {
    return new Builder(uri);
  }

  /**
   * Sends an upgrade request with {@code headers} and returns the server's whole answer, then
   * closes the connection: for refusals, which carry a status and a body.
   */
  public static Answer answer(URI uri, Map<String, String> headers) throws IOException {
    try (Connection c = Connection.open(uri, headers, TIMEOUT)) {
      return c.answer();
    }
  }

  /** The status of the server's answer to an upgrade with {@code headers}, then closes. */
  public static int status(URI uri, Map<String, String> headers) throws IOException {
    return answer(uri, headers).status();
  }

  /**
   * Sends {@code head} as it is (a request line and headers, without the blank line that ends
   * them) and returns the server's answer: for upgrades that lack what a client always sends.
   */
  public static Answer answerTo(URI uri, String head) throws IOException {
    return Connection.answerTo(uri, head, TIMEOUT);
  }

  /**
   * Whether the server has closed {@code socket} (EOF or reset), within one read of the
   * socket's timeout: for sockets that never upgraded (the server's limits on HTTP requests).
   */
  public static boolean closedByServer(Socket socket) {
    try {
      return socket.getInputStream().read() == -1;
    } catch (SocketTimeoutException e) {
      return false;
    } catch (IOException e) {
      return true;
    }
  }

  /** How to connect a {@link ProtocolClient}. */
  public static final class Builder {
    private final URI uri;
    private final Map<String, String> headers = new LinkedHashMap<>();
    private boolean reading = true;
    private boolean answering = true;
    private boolean recording = true;
    private Consumer<JsonObject> onMessage = m -> { };
    private IntConsumer onClose = code -> { };

    private Builder(URI uri) {
      Connection.requireWsUri(Objects.requireNonNull(uri, "uri"), "a client");
      this.uri = uri;
    }

    /**
     * A header for the upgrade request; one the upgrade sets itself (Sec-WebSocket-Version, say)
     * is replaced.
     */
    public Builder header(String name, String value) {
      headers.put(name, value);
      return this;
    }

    public Builder headers(Map<String, String> headers) {
      this.headers.putAll(headers);
      return this;
    }

    /** False: connects without reading anything until {@link ProtocolClient#resume()}. */
    public Builder reading(boolean reading) {
      this.reading = reading;
      return this;
    }

    /**
     * False: never answers a ping or a close frame (both are recorded like any frame), as a peer
     * that went away without a word.
     */
    public Builder answering(boolean answering) {
      this.answering = answering;
      return this;
    }

    /**
     * False: keeps nothing of what arrives (for long runs); only {@link #onMessage} and {@link
     * #onClose} see it.
     */
    public Builder recording(boolean recording) {
      this.recording = recording;
      return this;
    }

    /**
     * Called with every JSON message as it is read, on the client's reading thread and in
     * order. If it throws, the client records the failure and drops the connection.
     */
    public Builder onMessage(Consumer<JsonObject> onMessage) {
      this.onMessage = Objects.requireNonNull(onMessage, "onMessage");
      return this;
    }

    /**
     * Called once when the connection ends, with the server's close code or {@value
     * ProtocolClient#ABNORMAL_CLOSURE} (also when this client dropped it), on the client's
     * reading thread or on the thread that dropped it.
     */
    public Builder onClose(IntConsumer onClose) {
      this.onClose = Objects.requireNonNull(onClose, "onClose");
      return this;
    }

    /**
     * Connects and upgrades.
     *
     * @throws UpgradeRefusedException if the server answers anything but 101
     * @throws IOException if the server cannot be reached or answers nothing within 10 s
     */
    public ProtocolClient connect() throws IOException {
      Connection c = Connection.open(uri, headers, TIMEOUT);
      if (!c.upgraded()) {
        c.close();
        throw new UpgradeRefusedException(uri, c.answer());
      }
      ProtocolClient client = new ProtocolClient(this, c);
      c.socket().setSoTimeout(0); // an idle connection is no failure
      DaemonThreads.start("fanout-client-" + c.socket().getLocalPort(), client::readLoop);
      return client;
    }
  }

  // ---- reading ----

  private void readLoop() {
    boolean serverEnded = false;
    try {
      while (awaitReading()) {
        Frame f = connection.read();
        if (f == null) {
          serverEnded = true;
          break;
        }
        handle(f);
      }
    } catch (SocketTimeoutException e) {
      // the server kept the connection open after its close frame and ours: given up on it
    } catch (FrameCodec.MalformedFrameException e) {
      failure = e;
      log.warn("{}: the server sent a frame that breaks RFC 6455", this, e);
    } catch (IOException e) {
      serverEnded = true; // reset by the server, or closed by this client
    } catch (RuntimeException | Error e) {
      failure = e;
      log.warn("{}: a message handler failed; the connection is dropped", this, e);
    }
    tcpEnded = serverEnded;
    try {
      connection.close();
    } catch (IOException e) {
      // closing anyway
    }
    ended(ABNORMAL_CLOSURE);
  }

  /** Waits while stalled; false once the client is closing. */
  private boolean awaitReading() {
    synchronized (gate) {
      while (!reading && !stopping) {
        try {
          gate.wait();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return false;
        }
      }
      return !stopping;
    }
  }

  private void handle(Frame f) throws IOException {
    switch (f.opcode()) {
      case FrameCodec.PING:
        if (answering) {
          connection.write(FrameCodec.clientFrame(FrameCodec.PONG, f.payload()));
          return;
        }
        record(new Received(f.opcode(), false, f.payload(), null, null));
        return;
      case FrameCodec.CLOSE:
        closeReason = f.closeReason();
        record(new Received(f.opcode(), false, f.payload(), null, null));
        if (answering) {
          if (!closeSent) {
            closeSent = true;
            try {
              connection.write(FrameCodec.close(f.closeCode() == Frame.NO_STATUS ? 1000
                  : f.closeCode(), ""));
            } catch (IOException e) {
              // the server has gone already
            }
          }
          // the server closes the TCP connection next; do not wait for it forever
          connection.socket().setSoTimeout((int) CLOSE_TIMEOUT.toMillis());
        }
        ended(f.closeCode());
        return;
      case FrameCodec.TEXT:
        if (!f.compressed()) {
          text(f.text());
          return;
        }
        record(new Received(f.opcode(), true, f.payload(), null, null));
        return;
      default: // binary, pong
        record(new Received(f.opcode(), f.compressed(), f.payload(), null, null));
    }
  }

  private void text(String text) {
    JsonObject json = null;
    try {
      JsonElement parsed = JsonParser.parseString(text);
      json = parsed.isJsonObject() ? parsed.getAsJsonObject() : null;
    } catch (RuntimeException notJson) {
      // kept as text, for tests that check what the server sent
    }
    if (recording) {
      texts.add(text);
      if (json != null) {
        messages.add(json);
        String type = json.has("type") && json.get("type").isJsonPrimitive()
            ? json.get("type").getAsString() : "";
        if (type.equals("event")) {
          events.add(json);
        } else if (type.equals("batch") && json.get("events").isJsonArray()) {
          for (JsonElement e : json.getAsJsonArray("events")) {
            events.add(e.getAsJsonObject());
          }
        }
      }
      queue.add(new Received(FrameCodec.TEXT, false, null, text, json));
    }
    if (json != null) {
      onMessage.accept(json);
    }
  }

  private void record(Received r) {
    if (recording) {
      queue.add(r);
    }
  }

  private void ended(int code) {
    if (closed.complete(code)) {
      queue.add(END);
      onClose.accept(code);
    }
  }

  /** Stops reading: the server's writes back up into the socket buffers. */
  public void stall() {
    synchronized (gate) {
      reading = false;
    }
  }

  /** Reads again. */
  public void resume() {
    synchronized (gate) {
      reading = true;
      gate.notifyAll();
    }
  }

  // ---- sending ----

  /** Sends a text message. */
  public void send(String text) {
    try {
      connection.write(FrameCodec.text(text));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Sends unless the connection is already closed; false when it is. */
  public boolean trySend(String text) {
    try {
      connection.write(FrameCodec.text(text));
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  public void sendBinary(byte[] bytes) {
    sendFrame(FrameCodec.BINARY, bytes);
  }

  /** Sends one final, masked frame with {@code opcode} and {@code payload}, whatever they are. */
  public void sendFrame(int opcode, byte[] payload) {
    sendRaw(FrameCodec.clientFrame(opcode, payload));
  }

  /**
   * Writes {@code pieces} as they are, each in a write of its own: one piece of several frames
   * coalesces them, a frame cut into pieces arrives split.
   */
  public void sendRaw(byte[]... pieces) {
    try {
      connection.write(pieces);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Writes {@code bytes} over and over until the connection fails or {@code limit} bytes are
   * written, counting them in {@code written}. Blocks while the server is not reading.
   */
  public void writeRepeatedly(byte[] bytes, long limit, AtomicLong written) {
    ReentrantLock lock = connection.writeLock();
    lock.lock();
    try {
      while (written.get() < limit) {
        connection.out().write(bytes);
        written.addAndGet(bytes.length);
      }
    } catch (IOException e) {
      // closed by the server or by the test: done either way
    } finally {
      lock.unlock();
    }
  }

  // ---- what was received ----

  /** The next frame matching {@code which}, skipping (and taking) others; fails after 10 s. */
  public JsonObject next(Predicate<JsonObject> which) throws InterruptedException {
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    while (true) {
      Received r = queue.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      if (r == null) {
        throw new AssertionError("no matching frame within " + TIMEOUT.toSeconds()
            + " s; events so far: " + events.size());
      }
      if (r == END) {
        queue.addFirst(END);
        throw new AssertionError("the connection closed (" + closed.getNow(null)
            + ") before a matching frame; events so far: " + events.size());
      }
      if (r.json() != null && which.test(r.json())) {
        return r.json();
      }
    }
  }

  /** The next JSON frame of type {@code type}, skipping (and taking) others; fails after 10 s. */
  public JsonObject nextOfType(String type) throws InterruptedException {
    return next(f -> f.has("type") && f.get("type").getAsString().equals(type));
  }

  /**
   * The next frame of any kind (a message or a control frame; pings only when this client does
   * not answer them), or null once the connection has ended; fails after 10 s.
   */
  public Frame nextFrame() throws InterruptedException {
    Received r = queue.poll(TIMEOUT.toNanos(), TimeUnit.NANOSECONDS);
    if (r == null) {
      throw new AssertionError("no frame within " + TIMEOUT.toSeconds() + " s");
    }
    if (r == END) {
      queue.addFirst(END);
      return null;
    }
    return r.frame();
  }

  /**
   * Checks that every frame received was taken by {@link #next} or {@link #nextFrame} (pings
   * this client answered are not recorded), and that the server broke no rule of RFC 6455.
   */
  public void assertExhausted() {
    if (failure != null) {
      throw new AssertionError("the client failed: " + failure, failure);
    }
    Received r = queue.peekFirst();
    if (r != null && r != END) {
      throw new AssertionError("a frame no test took: " + r.frame() + " (and " + (queue.size() - 1)
          + " more)");
    }
  }

  /** Every event received, from {@code event} and {@code batch} frames, in order. */
  public List<JsonObject> events() {
    synchronized (events) {
      return new ArrayList<>(events);
    }
  }

  /** The ids of {@link #events()}. */
  public List<String> eventIds() {
    List<String> ids = new ArrayList<>();
    for (JsonObject e : events()) {
      ids.add(e.get("id").getAsString());
    }
    return ids;
  }

  /** The string field {@code field} of every event's data, in order (absent ones skipped). */
  public List<String> dataValues(String field) {
    List<String> out = new ArrayList<>();
    for (JsonObject e : events()) {
      JsonElement data = e.get("data");
      if (data != null && data.isJsonObject() && data.getAsJsonObject().has(field)) {
        out.add(data.getAsJsonObject().get(field).getAsString());
      }
    }
    return out;
  }

  /** Every JSON message received, taken or not, in order. */
  public List<JsonObject> messages() {
    synchronized (messages) {
      return new ArrayList<>(messages);
    }
  }

  /** Every text message as received, parseable or not, in order. */
  public List<String> texts() {
    synchronized (texts) {
      return new ArrayList<>(texts);
    }
  }

  /** Whether any text message received so far contains {@code fragment}. */
  public boolean sawFrame(String fragment) {
    return texts().stream().anyMatch(t -> t.contains(fragment));
  }

  // ---- the end ----

  /**
   * Completes with the close code once the connection ends: the server's close frame, or
   * {@value #ABNORMAL_CLOSURE} when it ended without one.
   */
  public CompletableFuture<Integer> closed() {
    return closed;
  }

  /** The reason of the server's close frame, or null. */
  public String closeReason() {
    return closeReason;
  }

  /** Waits up to 15 s for the connection to end and returns its close code. */
  public int awaitClose() throws InterruptedException, ExecutionException, TimeoutException {
    return closed.get(15, TimeUnit.SECONDS);
  }

  /** Whether the connection has not ended. */
  public boolean isOpen() {
    return !closed.isDone();
  }

  public void assertOpen() {
    if (!isOpen()) {
      throw new AssertionError("closed with " + closed.getNow(null) + " " + closeReason);
    }
  }

  /**
   * Reads on (if stalled) and says whether the server has closed the TCP connection (EOF or
   * reset).
   */
  public boolean serverClosed() {
    resume();
    return tcpEnded;
  }

  /** The server's answer to the upgrade: its 101 status line and headers. */
  public String head() {
    return connection.answer().head();
  }

  /** The upgrade's status: 101. */
  public int status() {
    return connection.answer().status();
  }

  /** Drops the connection without a close frame, as a network failure would. */
  public void abort() {
    synchronized (gate) {
      stopping = true;
      gate.notifyAll();
    }
    try {
      connection.close();
    } catch (IOException e) {
      // gone either way
    }
    if (!closed.isDone()) {
      // the reading thread may be parked (stalled): end the connection for it
      ended(ABNORMAL_CLOSURE);
    }
  }

  /**
   * Sends a close frame (1000) unless the connection has ended or a write is stuck on a server
   * that does not read, then drops the connection without waiting for the server's answer.
   */
  @Override
  public void close() {
    if (!closed.isDone() && !closeSent) {
      closeSent = true;
      try {
        connection.writeIfIdle(FrameCodec.close(1000, "bye"));
      } catch (IOException e) {
        // already gone
      }
    }
    abort();
  }

  @Override
  public String toString() {
    return "ProtocolClient(" + uri + (closed.isDone() ? ", closed " + closed.getNow(null) : "")
        + ")";
  }

  /** One frame in the queue; a text frame keeps its text only, an uncompressed one its bytes. */
  private record Received(int opcode, boolean compressed, byte[] bytes, String text,
      JsonObject json) {
    Frame frame() {
      return new Frame(opcode, compressed,
          text != null ? text.getBytes(StandardCharsets.UTF_8) : bytes);
    }
  }
}
