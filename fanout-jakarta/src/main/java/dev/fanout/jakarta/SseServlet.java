package dev.fanout.jakarta;

import dev.fanout.core.Transport;
import dev.fanout.protocol.FanoutNode;
import dev.fanout.protocol.Handshake;
import dev.fanout.protocol.HttpEdge;
import dev.fanout.protocol.SseRequest;
import dev.fanout.protocol.SseSession;
import dev.fanout.protocol.SseSink;
import jakarta.servlet.AsyncContext;
import jakarta.servlet.AsyncEvent;
import jakarta.servlet.AsyncListener;
import jakarta.servlet.ServletOutputStream;
import jakarta.servlet.WriteListener;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/**
 * Protocol v1 as Server-Sent Events on a servlet container ({@link SseRequest}), through the
 * Servlet async API: the request is answered with a stream written without blocking a thread,
 * and the container's threads are free while it lasts. Map it for GET at {@link
 * SseRequest#DEFAULT_PATH}, with async support on, for example on Jetty:
 *
 * <pre>{@code
 * ServletHolder sse = new ServletHolder(new SseServlet(node));
 * sse.setAsyncSupported(true);
 * context.addServlet(sse, "/events");
 * }</pre>
 *
 * <p>Tyrus's standalone server (Grizzly without a servlet layer) cannot host it; serve the
 * stream from a servlet container or Netty there.
 */
public final class SseServlet extends HttpServlet {
  private static final long serialVersionUID = 1L;
  private static final SharedBytes BYTES = new SharedBytes(); // every stream's, on every node
  private final transient FanoutNode node;

  public SseServlet(FanoutNode node) {
    this.node = node;
  }

  @Override
  protected void doGet(HttpServletRequest request, HttpServletResponse response)
      throws IOException {
    if (HttpEdge.isAmbiguousPath(request.getRequestURI())) {
      badRequest(response, "malformed or ambiguous request target");
      return;
    }
    Handshake handshake;
    try {
      handshake = HandshakeFilter.handshake(request);
    } catch (IllegalArgumentException e) { // the container passed on what no URI can hold
      badRequest(response, "malformed request target");
      return;
    }
    Sink sink = new Sink(request, response);
    SseSession s = SseRequest.serve(node, handshake, sink);
    if (s != null) {
      sink.session(s);
    }
  }

  private static void badRequest(HttpServletResponse response, String reason)
      throws IOException {
    byte[] body = ("{\"accepted\":false,\"status\":400,\"reason\":\"" + reason
        + "\",\"code\":\"bad_request\"}").getBytes(StandardCharsets.UTF_8);
    response.setStatus(400);
    response.setContentType("application/json");
    response.setContentLength(body.length);
    response.getOutputStream().write(body);
  }

  /** One response as a stream: non-blocking writes, each flushed, one at a time. */
  private static final class Sink implements SseSink, WriteListener, AsyncListener {
    private final HttpServletRequest request;
    private final HttpServletResponse response;
    private AsyncContext async;
    private ServletOutputStream out;
    private volatile SseSession session;
    private volatile boolean gone;
    // the write in progress, under this: its bytes until written, then its flush
    private static final int OPENING = 0; // until the container's first onWritePossible
    private static final int IDLE = 1;
    private static final int WRITTEN = 2;
    private static final int FLUSHED = 3;
    private int phase = OPENING;
    private byte[] pending;
    private Transport.SendCallback done;

    Sink(HttpServletRequest request, HttpServletResponse response) {
      this.request = request;
      this.response = response;
    }

    void session(SseSession s) {
      session = s;
      if (gone) {
        s.closed();
      }
    }

    @Override
    public void refuse(int status, Map<String, String> headers, String body) {
      byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
      response.setStatus(status);
      headers.forEach(response::setHeader);
      if (status == 204) {
        return; // no body, no length
      }
      response.setContentLength(bytes.length);
      try {
        response.getOutputStream().write(bytes);
      } catch (IOException e) {
        // the client left: nothing to answer
      }
    }

    @Override
    public void accept() {
      // Every write is flushed at once: a small response buffer, not the container's 32 KiB held
      // by every idle stream on Jetty (no buffer at all made Jetty's connect burst 3x slower;
      // docs/benchmarks.md)
      response.setBufferSize(2048);
      async = request.startAsync();
      async.setTimeout(0); // the node's heartbeat decides
      async.addListener(this);
      try {
        out = response.getOutputStream();
      } catch (IOException e) {
        throw new IllegalStateException("no output stream", e);
      }
      out.setWriteListener(this); // nothing is written (or committed) before start
    }

    @Override
    public void start(Map<String, String> headers) {
      response.setStatus(200);
      headers.forEach(response::setHeader);
    }

    @Override
    public void write(String text, Transport.SendCallback callback) {
      write(BYTES.of(text), callback); // an event's text: its bytes shared by every stream
    }

    /** The texts' shared bytes, joined into one write. */
    @Override
    public void writeAll(List<String> texts, Transport.SendCallback callback) {
      byte[][] parts = new byte[texts.size()][];
      int length = 0;
      for (int i = 0; i < parts.length; i++) {
        parts[i] = BYTES.of(texts.get(i));
        length += parts[i].length;
      }
      byte[] joined = new byte[length];
      int at = 0;
      for (byte[] part : parts) {
        System.arraycopy(part, 0, joined, at, part.length);
        at += part.length;
      }
      write(joined, callback);
    }

    private void write(byte[] bytes, Transport.SendCallback callback) {
      synchronized (this) {
        pending = bytes;
        done = callback;
        if (phase != IDLE) {
          return; // the listener's first call is still to come
        }
      }
      onWritePossible();
    }

    @Override
    public void onWritePossible() {
      Transport.SendCallback finished = null;
      Throwable failure = null;
      synchronized (this) {
        try {
          while (finished == null && out.isReady()) {
            if (phase == OPENING) {
              phase = IDLE;
            } else if (phase == WRITTEN) {
              out.flush();
              phase = FLUSHED;
            } else if (phase == FLUSHED) {
              phase = IDLE;
              finished = done;
              done = null;
            } else if (pending != null) {
              out.write(pending);
              pending = null;
              phase = WRITTEN;
            } else {
              break;
            }
          }
        } catch (IOException | RuntimeException e) {
          failure = e;
          finished = done;
          done = null;
        }
      }
      if (finished != null) {
        finished.completed(failure);
      }
    }

    @Override
    public void onError(Throwable t) {
      Transport.SendCallback finished;
      synchronized (this) {
        finished = done;
        done = null;
      }
      if (finished != null) {
        finished.completed(t);
      }
      gone();
    }

    @Override
    public void close() {
      try {
        async.complete();
      } catch (RuntimeException e) {
        // already completed or broken: the stream is over either way
      }
    }

    private void gone() {
      gone = true;
      SseSession s = session;
      if (s != null) {
        s.closed();
      }
    }

    @Override
    public void onComplete(AsyncEvent event) {
      gone();
    }

    @Override
    public void onTimeout(AsyncEvent event) {
      gone();
    }

    @Override
    public void onError(AsyncEvent event) {
      onError(event.getThrowable());
    }

    @Override
    public void onStartAsync(AsyncEvent event) {
      // not restarted
    }
  }
}
