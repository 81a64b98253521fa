package dev.machineid.issuer.internal.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.machineid.core.ErrorCode;
import dev.machineid.core.protocol.Problem;
import dev.machineid.core.protocol.Protocol;
import dev.machineid.issuer.internal.Json;
import dev.machineid.issuer.internal.ProblemException;
import dev.machineid.issuer.internal.StoreOutage;
import dev.machineid.issuer.internal.admin.AdminApi;
import dev.machineid.issuer.internal.join.CredentialService;
import dev.machineid.issuer.internal.join.IdentityDecisions;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.URLDecoder;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Protocol v1 over Jetty's core handler API. Routes, enforces the body limit, reads the verified
 * client certificate chain from {@link EndPoint.SslSessionData} (put on the request by
 * {@link org.eclipse.jetty.server.SecureRequestCustomizer}), and turns every failure into an
 * {@code application/problem+json} answer: protocol errors as 4xx, anything unexpected as a 500
 * with no detail.
 *
 * <p>What an unauthenticated client can make the issuer do is bounded: every call is rate-limited
 * per client address before anything else; a POST must say {@code Content-Type: application/json}
 * before its body is read; the calls that need a bot certificate ({@code /v1/renew},
 * {@code /v1/certificates}, {@code /v1/heartbeat}) and the admin API check the client certificate
 * before reading a body; a body is read as it arrives without a thread waiting for it
 * ({@link BodyReader}), and one that is not needed is discarded the same way, so a client that
 * trickles a body holds a connection, never a thread, until {@link RequestDeadlines} cuts it off.
 * The admin API (authenticated before it asks for its body) reads its body directly. A client that stops sending a
 * body the issuer is reading is logged at debug level and counted
 * ({@code machineid_issuer_requests_aborted_total}), not reported as an internal error.
 */
public final class ApiHandler extends Handler.Abstract {
  private static final Logger LOG = LoggerFactory.getLogger(ApiHandler.class);

  /** Bytes of an unread request body discarded after an early answer before the connection is closed. */
  private static final long DRAIN_LIMIT = 32L * 1024 * 1024;

  private static final String BODY_READ = ApiHandler.class.getName() + ".bodyRead";
  /** The body {@link BodyReader} read before the call ran. */
  private static final String BODY = ApiHandler.class.getName() + ".body";

  private final IdentityDecisions engine;
  private final int maxRequestBytes;
  private final AdminApi admin;
  private final IssuerMetrics metrics;
  private final RateLimiter limiter;

  public ApiHandler(IdentityDecisions engine, int maxRequestBytes) {
    this(engine, maxRequestBytes, null, new IssuerMetrics(), null);
  }

  /** Also serves {@code POST /v1/certificates} through {@code credentials}. */
  public ApiHandler withCredentials(CredentialService credentials) {
    this.credentials = credentials;
    return this;
  }

  private volatile CredentialService credentials;
  private volatile RequestDeadlines deadlines;
  private volatile Clock clock = Clock.systemUTC();

  /** The clock against which a client certificate's validity is checked before a body is read. */
  public ApiHandler withClock(Clock clock) {
    this.clock = java.util.Objects.requireNonNull(clock, "clock");
    return this;
  }

  /** Applies the overall request time limit of {@code deadlines} to every request. */
  public ApiHandler withDeadlines(RequestDeadlines deadlines) {
    this.deadlines = deadlines;
    return this;
  }

  /**
   * @param admin the admin API, or {@code null} for none
   * @param limiter the per-address limit of unauthenticated calls, or {@code null} for none
   */
  public ApiHandler(
      IdentityDecisions engine,
      int maxRequestBytes,
      AdminApi admin,
      IssuerMetrics metrics,
      RateLimiter limiter) {
    super(InvocationType.BLOCKING);
    this.engine = engine;
    this.maxRequestBytes = maxRequestBytes;
    this.admin = admin;
    this.metrics = metrics;
    this.limiter = limiter;
  }

  @Override
  public boolean handle(Request request, Response response, Callback original) {
    long start = System.nanoTime();
    Callback callback = tracked(request, original);
    String path = request.getHttpURI().getPath();
    Route route = route(path);
    String call = call(route, path);
    run(request, response, callback, call, start, () -> {
      limit(request, response);
      if (route == null) {
        admin(request, response, callback);
        return true;
      }
      return dispatch(route, request, response, callback, call, start);
    });
    return true;
  }

  /** One step of a call; false if the call goes on asynchronously and records its outcome itself. */
  @FunctionalInterface
  private interface Step {
    boolean run() throws Exception;
  }

  /** Runs {@code step}, answers its failure as a problem document, and records the call's outcome once it is done. */
  private void run(
      Request request, Response response, Callback callback, String call, long start, Step step) {
    String code = "ok";
    try {
      if (!step.run()) {
        return;
      }
    } catch (ProblemException e) {
      code = e.code().code();
      writeProblem(request, response, callback, e.code(), e.clientDetail());
    } catch (AbortedBody e) {
      // the client went away or was cut off mid-body: nothing to answer, nothing went wrong here
      code = "aborted";
      metrics.bodyAborted();
      LOG.debug(
          "{} {} from {}: the request body ended early ({})",
          request.getMethod(),
          IdentityDecisions.printable(request.getHttpURI().getPath()),
          remote(request),
          e.getCause().toString());
      callback.failed(e.getCause());
    } catch (Throwable t) {
      if (StoreOutage.is(t)) {
        // the database is down or out of connections: a prompt 503 the client may retry, not a 500
        code = ErrorCode.UNAVAILABLE.code();
        LOG.warn(
            "store unavailable handling {} {}: {}",
            request.getMethod(),
            IdentityDecisions.printable(request.getHttpURI().getPath()),
            StoreOutage.describe(t));
        response
            .getHeaders()
            .put(HttpHeader.RETRY_AFTER, Long.toString(StoreOutage.RETRY_AFTER_SECONDS));
        writeProblem(
            request,
            response,
            callback,
            ErrorCode.UNAVAILABLE,
            "the issuer's store is unavailable; retry later");
      } else {
        code = ErrorCode.INTERNAL.code();
        LOG.error(
            "unexpected failure handling {} {}",
            request.getMethod(),
            IdentityDecisions.printable(request.getHttpURI().getPath()),
            t);
        writeProblem(request, response, callback, ErrorCode.INTERNAL, null);
      }
    }
    metrics.request(call, code, System.nanoTime() - start);
  }

  /**
   * Reads a request body chunk by chunk as Jetty delivers it, asking to be called back
   * ({@link Request#demand}) when nothing is available instead of blocking a thread, so a client
   * that trickles its body holds a connection (until the request time limit) but no thread. Once
   * the body is complete the call runs with it; a body over the limit is refused, and one that ends
   * early is an {@link AbortedBody}.
   */
  private final class BodyReader implements Runnable {
    private final Request request;
    private final Response response;
    private final Callback callback;
    private final String call;
    private final long start;
    private final Route route;
    private final java.io.ByteArrayOutputStream received = new java.io.ByteArrayOutputStream();

    BodyReader(
        Request request,
        Response response,
        Callback callback,
        String call,
        long start,
        Route route) {
      this.request = request;
      this.response = response;
      this.callback = callback;
      this.call = call;
      this.start = start;
      this.route = route;
    }

    @Override
    public void run() {
      ApiHandler.this.run(request, response, callback, call, start, this::step);
    }

    private boolean step() throws IOException {
      while (true) {
        Content.Chunk chunk = request.read();
        if (chunk == null) {
          request.demand(this);
          return false;
        }
        Throwable failure = chunk.getFailure();
        if (failure != null) {
          throw new AbortedBody(
              failure instanceof IOException io
                  ? io
                  : new IOException(failure.toString(), failure));
        }
        int n = chunk.remaining();
        if (received.size() + n > maxRequestBytes) {
          chunk.release();
          throw ProblemException.of(
              ErrorCode.REQUEST_TOO_LARGE,
              "the body must not exceed " + maxRequestBytes + " bytes");
        }
        ByteBuffer data = chunk.getByteBuffer().slice();
        byte[] copy = new byte[n];
        data.get(copy);
        received.write(copy, 0, n);
        boolean last = chunk.isLast();
        chunk.release();
        if (last) {
          request.setAttribute(BODY, received.toByteArray());
          request.setAttribute(BODY_READ, Boolean.TRUE);
          route.action().run(ApiHandler.this, request, response, callback);
          return true;
        }
      }
    }
  }

  /** The callback that also ends the request's time limit once the answer is sent or has failed. */
  private Callback tracked(Request request, Callback callback) {
    RequestDeadlines d = deadlines;
    if (d == null) {
      return callback;
    }
    d.requestStarted(request);
    // runs on success and on failure, before the original callback completes
    return Callback.from(() -> d.requestFinished(request), callback);
  }

  /**
   * Every call, on every path, is limited per client address before anything else is looked at;
   * over the limit: 429 with Retry-After.
   */
  private void limit(Request request, Response response) {
    if (limiter == null) {
      return;
    }
    long wait = limiter.acquire(address(request));
    if (wait > 0) {
      metrics.rateLimited();
      response.getHeaders().put(HttpHeader.RETRY_AFTER, Long.toString(wait));
      throw ProblemException.of(
          ErrorCode.RATE_LIMITED,
          "too many requests from this address; retry after " + wait + " s");
    }
  }

  private static String address(Request request) {
    SocketAddress a = request.getConnectionMetaData().getRemoteSocketAddress();
    if (a instanceof InetSocketAddress isa && isa.getAddress() != null) {
      return isa.getAddress().getHostAddress();
    }
    return String.valueOf(a);
  }

  private String joinMethodLabel(ObjectNode body) {
    com.fasterxml.jackson.databind.JsonNode m = body.get("join_method");
    return m != null && m.isTextual() && engine.verifiers().containsKey(m.textValue())
        ? m.textValue()
        : "unknown";
  }

  private static Map<String, String> query(Request request) {
    Map<String, String> out = new LinkedHashMap<>();
    String q = request.getHttpURI().getQuery();
    if (q == null || q.isEmpty()) {
      return out;
    }
    for (String pair : q.split("&")) {
      int eq = pair.indexOf('=');
      String k = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
      String v = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
      out.putIfAbsent(k, v);
    }
    return out;
  }

  /** Readiness for load balancers: unauthenticated, {@code ready} or {@code unready}, no detail. */
  public static final String READYZ_PATH = "/readyz";

  private volatile java.util.function.BooleanSupplier readiness = () -> true;

  /** What {@code GET /readyz} reports: the store answers. */
  public ApiHandler withReadiness(java.util.function.BooleanSupplier readiness) {
    this.readiness = java.util.Objects.requireNonNull(readiness, "readiness");
    return this;
  }

  private void readyz(Request request, Response response, Callback callback) {
    boolean ready = readiness.getAsBoolean();
    if (!ready) {
      response
          .getHeaders()
          .put(HttpHeader.RETRY_AFTER, Long.toString(StoreOutage.RETRY_AFTER_SECONDS));
    }
    finish(
        request,
        response,
        callback,
        ready ? 200 : 503,
        "text/plain; charset=utf-8",
        (ready ? "ready\n" : "unready\n").getBytes(StandardCharsets.US_ASCII));
  }

  // ---------------------------------------------------------------- routes

  /** Who a route's caller must be before its body is read. */
  public enum Auth {
    /** Anyone (rate-limited). */
    NONE,
    /** A bot: a client certificate inside its validity, checked before the body is read. */
    BOT
  }

  /** Serves one endpoint once the edge's checks passed and its body, if any, was read. */
  @FunctionalInterface
  public interface Action {
    void run(ApiHandler handler, Request request, Response response, Callback callback)
        throws IOException;
  }

  /** Whether this issuer serves an endpoint at all; refuses (a {@link ProblemException}) if not. */
  @FunctionalInterface
  public interface Guard {
    void check(ApiHandler handler);
  }

  private static final Guard ALWAYS = h -> {};

  /**
   * One endpoint of the protocol (or the issuer's own operational paths): its path and method, the
   * metrics label of its calls, who may call it, whether it reads a JSON body, and what serves it.
   * The edge applies these uniformly: the rate limit, the method (405 with {@code Allow}), the
   * guard, then for a body the media type (415), the client certificate for {@link Auth#BOT}, the
   * declared length, and the body read asynchronously, before the action runs.
   */
  public record Route(
      String path,
      String method,
      String call,
      Auth auth,
      boolean readsBody,
      Guard guard,
      Action action) {}

  /**
   * Every endpoint of the protocol, plus {@code /metrics} and {@code /readyz}: adding one is adding
   * an entry here. Paths under {@link AdminApi#PREFIX} go to the admin API's own table
   * ({@link AdminApi#ROUTES}); any other path is {@code 404 not_found}.
   */
  public static final List<Route> ROUTES = List.of(
      new Route(
          Protocol.AUTHORITY_PATH,
          "GET",
          "authority",
          Auth.NONE,
          false,
          ALWAYS,
          ApiHandler::authority),
      new Route(
          Protocol.CHALLENGE_PATH,
          "POST",
          "challenge",
          Auth.NONE,
          true,
          ALWAYS,
          ApiHandler::challenge),
      new Route(Protocol.JOIN_PATH, "POST", "join", Auth.NONE, true, ALWAYS, ApiHandler::join),
      new Route(Protocol.RENEW_PATH, "POST", "renew", Auth.BOT, true, ALWAYS, ApiHandler::renew),
      new Route(
          Protocol.HEARTBEAT_PATH,
          "POST",
          "heartbeat",
          Auth.BOT,
          true,
          ALWAYS,
          ApiHandler::heartbeat),
      new Route(
          Protocol.CERTIFICATES_PATH,
          "POST",
          "certificates",
          Auth.BOT,
          true,
          ApiHandler::requireCredentials,
          ApiHandler::certificates),
      new Route("/metrics", "GET", "metrics", Auth.NONE, false, ALWAYS, ApiHandler::metrics),
      new Route(READYZ_PATH, "GET", "readyz", Auth.NONE, false, ALWAYS, ApiHandler::readyz));

  private static final Map<String, Route> BY_PATH = byPath();

  private static Map<String, Route> byPath() {
    Map<String, Route> m = new LinkedHashMap<>();
    for (Route r : ROUTES) {
      if (m.put(r.path(), r) != null) {
        throw new IllegalStateException("two routes for " + r.path());
      }
    }
    return Map.copyOf(m);
  }

  /** The route of {@code path}, or {@code null} (an admin path, or none). */
  private static Route route(String path) {
    return path == null ? null : BY_PATH.get(path);
  }

  /** The metrics label of a call: a fixed set, never client text. */
  private static String call(Route route, String path) {
    if (route != null) {
      return route.call();
    }
    return path != null && path.startsWith(AdminApi.PREFIX) ? "admin" : "other";
  }

  /** Runs a call the table declares: the method, the guard, and for a body the checks before it is read. */
  private boolean dispatch(
      Route route, Request request, Response response, Callback callback, String call, long start)
      throws IOException {
    allow(response, request.getMethod(), route.method());
    route.guard().check(this);
    if (!route.readsBody()) {
      route.action().run(this, request, response, callback);
      return true;
    }
    requireJson(request);
    if (route.auth() == Auth.BOT) {
      requireClientCertificate(request);
    }
    if (request.getLength() > maxRequestBytes) {
      throw ProblemException.of(
          ErrorCode.REQUEST_TOO_LARGE, "the body must not exceed " + maxRequestBytes + " bytes");
    }
    // the body is read as it arrives, without a thread waiting for it; the call runs once it is
    // complete
    new BodyReader(request, response, callback, call, start, route).run();
    return false;
  }

  // ---------------------------------------------------------------- the endpoints

  private void authority(Request request, Response response, Callback callback) throws IOException {
    writeJson(request, response, callback, 200, engine.authority());
  }

  private void challenge(Request request, Response response, Callback callback) throws IOException {
    writeJson(request, response, callback, 200, engine.challenge(body(request)));
  }

  private void join(Request request, Response response, Callback callback) throws IOException {
    ObjectNode body = body(request);
    String joinMethod = joinMethodLabel(body);
    IdentityDecisions.Answer answer;
    try {
      answer = engine.join(body, remote(request), peerCertificates(request));
    } catch (ProblemException e) {
      metrics.join(joinMethod, e.code().code());
      throw e;
    }
    metrics.join(joinMethod, "success");
    metrics.issued("identity");
    writeAnswer(request, response, callback, answer);
  }

  private void renew(Request request, Response response, Callback callback) throws IOException {
    IdentityDecisions.Answer answer =
        engine.renew(body(request), remote(request), peerCertificates(request));
    metrics.issued("identity");
    writeAnswer(request, response, callback, answer);
  }

  private void heartbeat(Request request, Response response, Callback callback) throws IOException {
    engine.heartbeat(body(request), remote(request), peerCertificates(request));
    response.setStatus(204);
    callback.succeeded();
  }

  private void requireCredentials() {
    if (credentials == null) {
      throw ProblemException.of(
          ErrorCode.NOT_FOUND, "this issuer does not issue role-scoped credentials");
    }
  }

  private void certificates(Request request, Response response, Callback callback)
      throws IOException {
    ObjectNode body = body(request);
    var answer = credentials.issue(body, remote(request), peerCertificates(request));
    metrics.issued(Json.text(body, "kind"));
    writeJson(request, response, callback, 200, answer);
  }

  private void metrics(Request request, Response response, Callback callback) {
    finish(
        request,
        response,
        callback,
        200,
        "text/plain; version=0.0.4; charset=utf-8",
        metrics.scrape().getBytes(StandardCharsets.UTF_8));
  }

  /**
   * Everything under {@link AdminApi#PREFIX}: a POST must be JSON, then the admin API
   * authenticates the admin before it looks the path up in its table and asks for the body; any
   * other path is {@code 404 not_found}.
   */
  private void admin(Request request, Response response, Callback callback) throws IOException {
    String path = request.getHttpURI().getPath();
    String method = request.getMethod();
    if (admin == null || path == null || !path.startsWith(AdminApi.PREFIX)) {
      throw ProblemException.of(ErrorCode.NOT_FOUND, "no such endpoint");
    }
    if ("POST".equals(method)) {
      requireJson(request);
    }
    AdminApi.Reply reply = admin.handle(
        method,
        path,
        query(request),
        () -> body(request),
        peerCertificates(request),
        remote(request));
    if (reply.body() == null) {
      finish(request, response, callback, reply.status(), Protocol.JSON, new byte[0]);
    } else {
      writeJson(request, response, callback, reply.status(), reply.body());
    }
  }

  private static void allow(Response response, String method, String allowed) {
    if (!allowed.equals(method)) {
      response.getHeaders().put(HttpHeader.ALLOW, allowed);
      throw ProblemException.of(
          ErrorCode.METHOD_NOT_ALLOWED, "use " + allowed + " on this endpoint");
    }
  }

  /**
   * A POST must carry exactly one {@code Content-Type: application/json}, optionally with
   * {@code charset=utf-8} (JSON is UTF-8); anything else is refused before the body is read.
   */
  private static void requireJson(Request request) {
    List<String> types = request.getHeaders().getValuesList(HttpHeader.CONTENT_TYPE);
    if (types.size() != 1 || !isJson(types.get(0))) {
      throw ProblemException.of(
          ErrorCode.UNSUPPORTED_MEDIA_TYPE,
          "a POST must have the header Content-Type: application/json");
    }
  }

  static boolean isJson(String contentType) {
    String[] parts = contentType.split(";", -1);
    if (!parts[0].trim().toLowerCase(Locale.ROOT).equals("application/json")) {
      return false;
    }
    for (int i = 1; i < parts.length; i++) {
      String p = parts[i].trim();
      int eq = p.indexOf('=');
      if (eq <= 0) {
        return false;
      }
      String name = p.substring(0, eq).trim().toLowerCase(Locale.ROOT);
      String value = p.substring(eq + 1).trim();
      if (value.length() >= 2 && value.startsWith("\"") && value.endsWith("\"")) {
        value = value.substring(1, value.length() - 1);
      }
      if (name.equals("charset") && !value.equalsIgnoreCase("utf-8")) {
        return false;
      }
    }
    return true;
  }

  /**
   * The calls that need a bot identity refuse a connection without a client certificate, or with
   * one outside its validity at the issuer's clock, before their body is read. The TLS layer has
   * already verified that a presented certificate is signed by the issuer authority
   * ({@link HttpsServer}); the engine authorises the caller from the store afterwards.
   */
  private void requireClientCertificate(Request request) {
    X509Certificate[] peer = peerCertificates(request);
    if (peer == null || peer.length == 0) {
      LOG.debug(
          "{} from {} refused before its body was read: no client certificate",
          IdentityDecisions.printable(request.getHttpURI().getPath()),
          remote(request));
      throw ProblemException.of(
          ErrorCode.UNAUTHENTICATED, "a client certificate (the bot identity) is required");
    }
    try {
      peer[0].checkValidity(Date.from(clock.instant()));
    } catch (CertificateException e) {
      LOG.debug(
          "{} from {} refused before its body was read: client certificate outside its validity",
          IdentityDecisions.printable(request.getHttpURI().getPath()),
          remote(request));
      throw ProblemException.of(
          ErrorCode.UNAUTHENTICATED, "the client certificate is expired or not yet valid");
    }
  }

  /** The client stopped sending (or was cut off) while its body was being read. */
  private static final class AbortedBody extends RuntimeException {
    private static final long serialVersionUID = 1L;

    AbortedBody(IOException cause) {
      super(cause.toString(), cause, false, false);
    }
  }

  /**
   * The body {@link BodyReader} read, or (the admin API) the body read now, at most
   * {@code maxRequestBytes}; a declared or actual larger body is refused unread.
   */
  private ObjectNode body(Request request) throws IOException {
    if (request.getAttribute(BODY) instanceof byte[] read) {
      return Json.object(read);
    }
    long declared = request.getLength();
    if (declared > maxRequestBytes) {
      throw ProblemException.of(
          ErrorCode.REQUEST_TOO_LARGE, "the body must not exceed " + maxRequestBytes + " bytes");
    }
    // Not closed on purpose: closing an unfinished stream fails the request and Jetty would then
    // drop the problem response; Jetty discards unread content (and the connection) itself.
    InputStream in = Content.Source.asInputStream(request);
    byte[] bytes;
    try {
      bytes = in.readNBytes(maxRequestBytes + 1);
    } catch (IOException e) {
      throw new AbortedBody(e);
    }
    if (bytes.length <= maxRequestBytes) {
      request.setAttribute(BODY_READ, Boolean.TRUE);
    } else {
      throw ProblemException.of(
          ErrorCode.REQUEST_TOO_LARGE, "the body must not exceed " + maxRequestBytes + " bytes");
    }
    return Json.object(bytes);
  }

  private static X509Certificate[] peerCertificates(Request request) {
    if (request.getAttribute(EndPoint.SslSessionData.ATTRIBUTE)
        instanceof EndPoint.SslSessionData ssl) {
      return ssl.peerCertificates();
    }
    return null;
  }

  private static String remote(Request request) {
    SocketAddress a = request.getConnectionMetaData().getRemoteSocketAddress();
    if (a instanceof InetSocketAddress isa && isa.getAddress() != null) {
      return isa.getAddress().getHostAddress() + ":" + isa.getPort();
    }
    return String.valueOf(a);
  }

  private void writeJson(
      Request request, Response response, Callback callback, int status, Object body)
      throws JsonProcessingException {
    finish(
        request,
        response,
        callback,
        status,
        Protocol.JSON,
        Protocol.writer().writeValueAsBytes(body));
  }

  /** Sends credentials as the JSON they were stored as, without serialising them again. */
  private void writeAnswer(
      Request request, Response response, Callback callback, IdentityDecisions.Answer answer) {
    finish(
        request,
        response,
        callback,
        200,
        Protocol.JSON,
        answer.json().getBytes(StandardCharsets.UTF_8));
  }

  private void writeProblem(
      Request request, Response response, Callback callback, ErrorCode code, String detail) {
    finish(
        request,
        response,
        callback,
        code.status(),
        Protocol.PROBLEM_JSON,
        problemBytes(code, code.status(), detail));
  }

  /**
   * Sends a complete answer. If the request body was not read to its end (an error before or while
   * reading it), the answer is sent first, with {@code Connection: close}, and the rest of the body
   * is then discarded as it arrives, up to {@link #DRAIN_LIMIT} bytes, without holding a thread
   * while waiting for it ({@link Discard}): closing a TLS connection with unread data makes the
   * kernel send a reset, and the client would lose the answer it was sent. A client that trickles
   * the body it was told not to send is cut off by the request time limit.
   */
  private void finish(
      Request request, Response response, Callback callback, int status, String type, byte[] body) {
    response.setStatus(status);
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, type);
    response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
    response.getHeaders().put(HttpHeader.CONTENT_LENGTH, body.length);
    boolean unreadBody = request.getAttribute(BODY_READ) == null
        && (request.getLength() > 0
            || (request.getLength() < 0
                && request.getHeaders().contains(HttpHeader.TRANSFER_ENCODING)));
    if (!unreadBody) {
      response.write(true, ByteBuffer.wrap(body), callback);
      return;
    }
    response.getHeaders().put(HttpHeader.CONNECTION, "close");
    response.write(
        false,
        ByteBuffer.wrap(body),
        Callback.from(
            () -> new Discard(request, () -> response.write(true, ByteBuffer.allocate(0), callback))
                .run(),
            callback::failed));
  }

  /**
   * Reads and drops what is left of a request body, asking Jetty to call back when more arrives
   * instead of blocking a thread on it; runs {@code done} at the end of the body, on a failure (the
   * client went away, or the request time limit closed the connection), or after
   * {@link #DRAIN_LIMIT} bytes.
   */
  private static final class Discard implements Runnable {
    private final Request request;
    private final Runnable done;
    private long total;

    Discard(Request request, Runnable done) {
      this.request = request;
      this.done = done;
    }

    @Override
    public void run() {
      while (true) {
        Content.Chunk chunk = request.read();
        if (chunk == null) {
          request.demand(this);
          return;
        }
        Throwable failure = chunk.getFailure();
        boolean end = chunk.isLast() || failure != null;
        total += chunk.remaining();
        chunk.release();
        if (end || total >= DRAIN_LIMIT) {
          if (failure != null) {
            LOG.debug(
                "connection ended while discarding an unread request body: {}", failure.toString());
          }
          done.run();
          return;
        }
      }
    }
  }

  static String problemJson(ErrorCode code, int status, String detail) {
    Problem p = new Problem(
        "https://machineid.dev/problems/" + code.code(), title(code), status, detail, code.code());
    try {
      return Protocol.writer().writeValueAsString(p);
    } catch (JsonProcessingException e) {
      return "{\"code\":\"" + code.code() + "\",\"status\":" + status + "}";
    }
  }

  static byte[] problemBytes(ErrorCode code, int status, String detail) {
    return problemJson(code, status, detail).getBytes(StandardCharsets.UTF_8);
  }

  private static String title(ErrorCode code) {
    return switch (code) {
      case MALFORMED_REQUEST -> "Malformed request";
      case REQUEST_TOO_LARGE -> "Request too large";
      case NOT_FOUND -> "Not found";
      case METHOD_NOT_ALLOWED -> "Method not allowed";
      case UNAUTHENTICATED -> "Unauthenticated";
      case UNKNOWN_JOIN_METHOD -> "Unknown join method";
      case CHALLENGE_INVALID -> "Challenge invalid";
      case TOKEN_EXPIRED -> "Token expired";
      case TOKEN_CONSUMED -> "Token consumed";
      case PROOF_REJECTED -> "Proof rejected";
      case GENERATION_MISMATCH -> "Generation mismatch";
      case BOT_LOCKED -> "Bot locked";
      case ROLE_DENIED -> "Role denied";
      case TTL_EXCEEDED -> "TTL exceeded";
      case RATE_LIMITED -> "Rate limited";
      case UNSUPPORTED_MEDIA_TYPE -> "Unsupported media type";
      case UNAVAILABLE -> "Service unavailable";
      case INTERNAL -> "Internal error";
    };
  }
}
