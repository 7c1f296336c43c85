package dev.fanout.protocol;

import com.google.gson.JsonObject;
import java.net.InetSocketAddress;
import java.net.URI;
import java.security.Principal;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Tells a client why the node refuses its WebSocket handshake. A browser sees a refused upgrade
 * only as a close with 1006, whatever the status and reason on the wire, so a page could only
 * guess and retry forever; fanout-client asks here instead, once per failed upgrade, and stops on
 * a refusal that waiting will not heal. Mount {@link #answer} for GET at the endpoint's path plus
 * {@value #PATH_SUFFIX} ({@code /ws/check} for {@code /ws}: where fanout-client asks by default,
 * and under the endpoint's path, so a cookie scoped to it comes along), answering with {@link
 * Answer#status()}, {@value #CONTENT_TYPE}, {@link Answer#body()} and {@link Answer#headers()}.
 *
 * <p>The request is checked as the handshake would be ({@link FanoutNode#check}: accepting, the
 * connection cap, the Origin, the {@link Authenticator} with the request's query, headers and
 * cookies), and the answer is {@code 200 {"accepted":true}} or the refusal's status with {@code
 * {"accepted":false,"status":403,"reason":"origin not allowed"}}. A check is not a handshake: it
 * admits nothing and is not counted among refused handshakes.
 *
 * <p>A page on another origin must be able to read the answer, so it carries CORS headers for
 * the request's Origin, credentials included. That tells no origin more than it may know: the
 * Origin is checked before the credentials, so an origin that is not allowed learns only that
 * (or that the node is full or not accepting), never whether a cookie it sent is valid.
 *
 * <p>Browsers send no Origin with a same-origin GET (Fetch standard), so fanout-client names its
 * page's origin in {@value #PAGE_ORIGIN_HEADER} there; it stands in for a missing Origin header
 * and for nothing else. A client can claim any origin in it, and so mislead only itself: the
 * check only answers.
 */
public final class HandshakeCheck {
  /** Where to mount the check: the endpoint's path with this appended. */
  public static final String PATH_SUFFIX = "/check";
  /** The page's origin, from fanout-client, on a check that carries no Origin header. */
  public static final String PAGE_ORIGIN_HEADER = "Fanout-Page-Origin";
  /** The answer's content type. */
  public static final String CONTENT_TYPE = "application/json";

  /**
   * An answer to a check: its HTTP status (200, or the refusal's), the JSON body, and headers to
   * send with it (no caching; CORS for the request's Origin).
   */
  public record Answer(int status, String body, Map<String, String> headers) {
    public Answer {
      headers = Map.copyOf(headers);
    }
  }

  private HandshakeCheck() {}

  /** What {@code node} would answer {@code request} as a WebSocket handshake; see the class. */
  public static Answer answer(FanoutNode node, Handshake request) {
    List<String> origins = request.headers("Origin");
    List<String> claimed = request.headers(PAGE_ORIGIN_HEADER);
    Handshake asHandshake = origins.isEmpty() && claimed.size() == 1
        ? new WithOrigin(request, claimed.get(0)) : request;
    Authentication auth = node.admission.evaluate(asHandshake);
    JsonObject body = new JsonObject();
    body.addProperty("accepted", auth.allowed());
    if (!auth.allowed()) {
      body.addProperty("status", auth.status());
      body.addProperty("reason", auth.reason());
    }
    Map<String, String> headers = new LinkedHashMap<>();
    headers.put("Cache-Control", "no-store");
    headers.put("Vary", "Origin");
    if (origins.size() == 1 && OriginPolicy.normalize(origins.get(0)) != null) {
      headers.put("Access-Control-Allow-Origin", origins.get(0).trim());
      headers.put("Access-Control-Allow-Credentials", "true");
    }
    return new Answer(auth.allowed() ? 200 : auth.status(), body.toString(), headers);
  }

  /** The request, with the page's claimed origin as its Origin header. */
  private record WithOrigin(Handshake request, String origin) implements Handshake {
    @Override
    public URI uri() {
      return request.uri();
    }

    @Override
    public List<String> headers(String name) {
      return name.equalsIgnoreCase("Origin") ? List.of(origin) : request.headers(name);
    }

    @Override
    public List<String> parameters(String name) {
      return request.parameters(name);
    }

    @Override
    public Principal userPrincipal() {
      return request.userPrincipal();
    }

    @Override
    public InetSocketAddress remoteAddress() {
      return request.remoteAddress();
    }
  }
}
