package dev.fanout.protocol;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.fanout.core.Scope;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Protocol v1 over Server-Sent Events ({@code text/event-stream}), whatever the transport: a
 * {@code GET} whose query is the subscribe message ({@code topics=a,b} or repeated, {@code
 * filter.<attribute>=v1,v2}, the node's aliases such as {@code merchants=}, {@code lastEventId=}),
 * answered with the same frames as on WebSocket, each as one SSE event whose type is the frame's
 * type and whose data is the frame. Every {@code event} carries its id as the SSE {@code id:}, so
 * the browser's own reconnect sends it back in {@code Last-Event-ID} and resumes exactly, on any
 * node (docs/protocol.md, "Server-Sent Events").
 *
 * <p>The request goes through what a WebSocket handshake goes through (accepting, the caps, the
 * Origin, the {@link Authenticator} with the request's headers, cookies and query), and then the
 * subscribe's checks (its limits, the scope). A refusal is answered with its status and {@code
 * {"accepted":false,"status":400,"reason":"...","code":"bad_request"}}; a browser's EventSource
 * does not retry after it; a principal whose scope allows no topic at all gets 204 No Content,
 * the standard way to tell an EventSource to stop. An accepted stream is a connection of the
 * node like any other: outboxes, backpressure, the replay budget, credentials expiry and the paced
 * shutdown apply, and a comment line keeps an idle stream open ({@link
 * NodeSettings#sseHeartbeatInterval()}, 15 s by default). The 200's head waits for the
 * subscription's answer, to carry {@value #RECOVERED}.
 */
public final class SseRequest {
  /** Where transports serve it by default. */
  public static final String DEFAULT_PATH = "/events";
  /** The stream's content type. */
  public static final String CONTENT_TYPE = "text/event-stream;charset=utf-8";
  /** The header the browser resumes with; it wins over a {@code lastEventId} parameter. */
  public static final String LAST_EVENT_ID = "Last-Event-ID";
  /**
   * The response header that tells a client other than a browser whether the stream resumed
   * exactly ({@code true}) or started afresh with a snapshot ({@code false}): the {@code
   * recovered} of the stream's first {@code subscribed}. The head is sent once the subscription
   * is answered, so it can say; it is absent when the stream does not start with a {@code
   * subscribed} (an {@code error}).
   */
  public static final String RECOVERED = "Fanout-Recovered";
  private static final String FILTER_PREFIX = "filter.";
  private static final int MAX_PARAMETERS = 1000;

  private SseRequest() {}

  /**
   * Answers {@code request} on {@code sink}: a refusal, or a stream that lasts until the node or
   * the client ends it. Returns the stream's session, which the transport tells when the client
   * is gone, or null when the request was refused (already answered).
   */
  public static SseSession serve(FanoutNode node, Handshake request, SseSink sink) {
    Map<String, String> cors = cors(request);
    String subscribe;
    List<String> topics;
    try {
      subscribe = subscribeMessage(request, node.settings.vocabulary);
      int max = node.settings.maxMessageBytes();
      if (subscribe.getBytes(StandardCharsets.UTF_8).length > max) {
        throw new ClientMessage.ProtocolError(ErrorCode.BAD_REQUEST,
            "the subscription is larger than " + max + " bytes");
      }
      topics = ClientMessage.parse(subscribe, node.settings.limits, node.settings.vocabulary)
          .topics;
    } catch (ClientMessage.ProtocolError e) {
      refuse(sink, cors, 400, e.getMessage(), e.code.wire());
      return null;
    }
    Authentication auth = node.check(request);
    if (!auth.allowed()) {
      refuse(sink, cors, auth.status(), auth.reason(), null);
      return null;
    }
    Scope scope = auth.scope();
    if (!scope.isAll() && scope.topics().isEmpty()) { // nothing, ever: the browser stops retrying
      node.refused(204, "no topic in scope");
      sink.refuse(204, cors, "");
      return null;
    }
    for (String t : topics) {
      if (!scope.isAll() && !scope.allows(t)) {
        node.refused(403, "topic not in scope");
        refuse(sink, cors, 403, "topic '" + ClientMessage.abbreviate(t)
            + "' is not in your scope", ErrorCode.FORBIDDEN.wire());
        return null;
      }
    }
    SseSession session = new SseSession(node, sink);
    if (!session.open(auth, request.remoteAddress())) {
      refuse(sink, cors, 503, node.status().accepting() ? "connection limit reached"
          : "server shutting down", null);
      return null;
    }
    Map<String, String> headers = new LinkedHashMap<>(cors);
    headers.put("Content-Type", CONTENT_TYPE);
    headers.put("Cache-Control", "no-store");
    headers.put("X-Accel-Buffering", "no"); // nginx: pass each event on at once
    try {
      sink.accept();
    } catch (RuntimeException e) { // the transport could not stream: the slot is free again
      session.closed();
      throw e;
    }
    session.stream(subscribe, resumePoint(subscribe), headers);
    return session;
  }

  /**
   * The subscribe message the query and {@value #LAST_EVENT_ID} say, as JSON, for {@link
   * ClientMessage#parse} to check as any other; parameters it does not know are left alone (an
   * {@link Authenticator} may read them).
   */
  static String subscribeMessage(Handshake request, Vocabulary words)
      throws ClientMessage.ProtocolError {
    Map<String, List<String>> lists = new LinkedHashMap<>();
    Map<String, List<String>> filters = new LinkedHashMap<>();
    List<String> lastEventIds = new ArrayList<>(request.headers(LAST_EVENT_ID));
    if (lastEventIds.size() > 1) {
      throw new ClientMessage.ProtocolError(ErrorCode.BAD_REQUEST,
          "give one " + LAST_EVENT_ID + " header");
    }
    String query = request.uri().getRawQuery();
    List<String> queryIds = new ArrayList<>();
    String[] pairs = query == null || query.isEmpty() ? new String[0] : query.split("&", -1);
    if (pairs.length > MAX_PARAMETERS) {
      throw new ClientMessage.ProtocolError(ErrorCode.TOO_MANY,
          "more than " + MAX_PARAMETERS + " query parameters");
    }
    for (String pair : pairs) {
      int eq = pair.indexOf('=');
      String name = decode(eq < 0 ? pair : pair.substring(0, eq));
      String value = eq < 0 ? "" : decode(pair.substring(eq + 1));
      if (name.equals("lastEventId")) {
        queryIds.add(value);
      } else if (name.startsWith(FILTER_PREFIX) && name.length() > FILTER_PREFIX.length()) {
        filters.computeIfAbsent(name.substring(FILTER_PREFIX.length()), k -> new ArrayList<>())
            .addAll(items(value));
      } else if (words.isTopics(name) || words.filterAttribute(name) != null) {
        lists.computeIfAbsent(name, k -> new ArrayList<>()).addAll(items(value));
      }
    }
    if (queryIds.size() > 1) {
      throw new ClientMessage.ProtocolError(ErrorCode.BAD_REQUEST, "give lastEventId once");
    }
    JsonObject msg = new JsonObject();
    msg.addProperty("type", "subscribe");
    lists.forEach((name, values) -> msg.add(name, array(values)));
    if (!filters.isEmpty()) {
      JsonObject f = new JsonObject();
      filters.forEach((name, values) -> f.add(name, array(values)));
      msg.add("filters", f);
    }
    // the browser's own reconnect says where it is; the parameter serves the page's first request
    String resume = !lastEventIds.isEmpty() ? lastEventIds.get(0)
        : queryIds.isEmpty() ? null : queryIds.get(0);
    if (resume != null && !resume.isEmpty()) {
      msg.addProperty("lastEventId", resume);
    }
    return msg.toString();
  }

  /** The resume point a subscribe message carries, or null. */
  private static String resumePoint(String subscribe) {
    JsonObject msg = JsonParser.parseString(subscribe).getAsJsonObject();
    return msg.has("lastEventId") ? msg.get("lastEventId").getAsString() : null;
  }

  private static String decode(String s) throws ClientMessage.ProtocolError {
    try {
      return URLDecoder.decode(s, StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      throw new ClientMessage.ProtocolError(ErrorCode.BAD_REQUEST,
          "malformed query: bad percent-encoding");
    }
  }

  /** A comma-separated list; empty items are left out ({@code topics=} is every topic). */
  private static List<String> items(String value) {
    List<String> out = new ArrayList<>();
    for (String item : value.split(",", -1)) {
      if (!item.isEmpty()) {
        out.add(item);
      }
    }
    return out;
  }

  private static JsonArray array(List<String> values) {
    JsonArray a = new JsonArray();
    values.forEach(a::add);
    return a;
  }

  /** CORS for a cross-origin EventSource (withCredentials too): the request's Origin, if any. */
  private static Map<String, String> cors(Handshake request) {
    Map<String, String> headers = new LinkedHashMap<>();
    headers.put("Vary", "Origin");
    List<String> origins = request.headers("Origin");
    if (origins.size() == 1 && OriginPolicy.normalize(origins.get(0)) != null) {
      headers.put("Access-Control-Allow-Origin", origins.get(0).trim());
      headers.put("Access-Control-Allow-Credentials", "true");
    }
    return headers;
  }

  private static void refuse(SseSink sink, Map<String, String> cors, int status, String reason,
      String code) {
    JsonObject body = new JsonObject();
    body.addProperty("accepted", false);
    body.addProperty("status", status);
    body.addProperty("reason", reason);
    if (code != null) {
      body.addProperty("code", code);
    }
    Map<String, String> headers = new LinkedHashMap<>(cors);
    headers.put("Content-Type", "application/json");
    headers.put("Cache-Control", "no-store");
    sink.refuse(status, headers, body.toString());
  }
}
