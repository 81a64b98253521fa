package dev.machineid.testkit.http;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsExchange;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
import dev.machineid.testkit.TestCertificateAuthority;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * The HTTP server the testkit's simulated services run on ({@code StsSimulator},
 * {@code Ec2MetadataServer}, {@code VaultSimulator}), built on the JDK's {@code com.sun.net.httpserver}
 * so that it adds no dependency.
 *
 * <pre>{@code
 * try (SimulatorServer server = SimulatorServer.builder("orders")
 *         .https(ca.issueServerCertificate(List.of("127.0.0.1", "localhost")))
 *         .route(Set.of("GET"), "/v1/orders", request -> Response.json(200, "{\"orders\":[]}"))
 *         .start()) {
 *   // point the client at server.uri(), then:
 *   assertThat(server.exchanges()).extracting(e -> e.request().path()).containsExactly("/v1/orders");
 * }
 * }</pre>
 *
 * <ul>
 *   <li>Listens on an ephemeral port of {@code 127.0.0.1}: {@link #uri()} is
 *       {@code http://127.0.0.1:<port>} or, with {@link Builder#https}, {@code https://…}. HTTP/1.1 with
 *       keep-alive; over TLS, ALPN offers only {@code http/1.1}.</li>
 *   <li>Optional client certificates ({@link Builder#clientCertificates}): the TLS layer asks for
 *       ({@link ClientAuth#WANT}) or requires ({@link ClientAuth#NEED}) a chain that the given trust
 *       manager accepts; the handler sees the chain the client presented in
 *       {@link Request#peerCertificates()}.</li>
 *   <li>Routing: an exact path with the methods it accepts ({@link Builder#route}); a known path asked
 *       with another method gets {@link Builder#methodNotAllowed}; an unknown path goes to
 *       {@link Builder#fallback} (default {@code 404}). {@link #override} answers every request with
 *       another handler from then on, for faults such as redirects.</li>
 *   <li>Request bodies ({@code Content-Length} or chunked) are read in full up to
 *       {@link Builder#maxRequestBody} (default 1 MiB); a larger one gets {@code 413} and reaches no
 *       handler.</li>
 *   <li>A handler that throws gets {@link Builder#onError} (default {@code 500}, a text body naming
 *       the exception class only).</li>
 *   <li>Every request and the status answered is recorded, oldest first ({@link #exchanges()}).</li>
 *   <li>Handlers run on daemon threads named {@code machineid-testkit-<name>-<n>}. {@link #close()}
 *       is idempotent, stops listening and closes every open connection.</li>
 * </ul>
 */
public final class SimulatorServer implements AutoCloseable {
  private static final AtomicInteger THREAD_NUMBERS = new AtomicInteger();
  private static final String[] HTTP_1_1 = {"http/1.1"};

  /** Whether, and how, the TLS handshake asks for a client certificate. */
  public enum ClientAuth {
    /** Asks for a certificate but completes the handshake without one. */
    WANT,
    /** Fails the handshake unless the client presents a certificate the trust manager accepts. */
    NEED
  }

  /** Answers one request. */
  @FunctionalInterface
  public interface Handler {
    Response handle(Request request);
  }

  /**
   * A request as received.
   *
   * @param method the method, e.g. {@code GET}
   * @param uri the request target as sent (path and query)
   * @param headers header names in lower case; repeated headers joined by {@code ,}
   * @param body the whole body, empty if none
   * @param peerCertificates the client certificate chain presented in the TLS handshake, leaf first;
   *     empty without one or over plain HTTP
   */
  public record Request(
      String method,
      URI uri,
      Map<String, String> headers,
      byte[] body,
      List<X509Certificate> peerCertificates) {
    public Request {
      Objects.requireNonNull(method, "method");
      Objects.requireNonNull(uri, "uri");
      headers = java.util.Collections.unmodifiableMap(new TreeMap<>(headers));
      body = body.clone();
      peerCertificates = List.copyOf(peerCertificates);
    }

    /** The path as sent, still percent-encoded. */
    public String path() {
      return uri.getRawPath();
    }

    /** The query as sent, still percent-encoded, or {@code null}. */
    public String rawQuery() {
      return uri.getRawQuery();
    }

    /** A header's value (case-insensitive name). */
    public Optional<String> header(String name) {
      return Optional.ofNullable(headers.get(name.toLowerCase(Locale.ROOT)));
    }

    @Override
    public byte[] body() {
      return body.clone();
    }

    /** The body decoded as UTF-8. */
    public String bodyText() {
      return new String(body, StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
      return "Request[" + method + " " + uri + ", " + body.length + " body bytes]";
    }
  }

  /**
   * An answer.
   *
   * @param status the HTTP status
   * @param headers response headers (besides {@code Content-Length} and {@code Date})
   * @param body the body; empty for none
   */
  public record Response(int status, Map<String, String> headers, byte[] body) {
    public Response {
      if (status < 100 || status > 999) {
        throw new IllegalArgumentException(
            "status must be a three-digit HTTP status, got " + status);
      }
      headers = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(headers));
      body = body.clone();
    }

    /** {@code status} with a body of type {@code contentType}, UTF-8. */
    public static Response text(int status, String contentType, String body) {
      return new Response(
          status, Map.of("Content-Type", contentType), body.getBytes(StandardCharsets.UTF_8));
    }

    /** {@code status} with an {@code application/json} body. */
    public static Response json(int status, String json) {
      return text(status, "application/json", json);
    }

    /** {@code status} without a body. */
    public static Response empty(int status) {
      return new Response(status, Map.of(), new byte[0]);
    }

    /** This answer with one more header (or a header replaced). */
    public Response withHeader(String name, String value) {
      Map<String, String> more = new LinkedHashMap<>(headers);
      more.put(Objects.requireNonNull(name, "name"), Objects.requireNonNull(value, "value"));
      return new Response(status, more, body);
    }

    @Override
    public byte[] body() {
      return body.clone();
    }

    /** The body decoded as UTF-8. */
    public String bodyText() {
      return new String(body, StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
      return "Response[" + status + ", " + body.length + " body bytes]";
    }
  }

  /** One request and the status it was answered with. */
  public record Exchange(Request request, int status) {}

  private record Route(Set<String> methods, Handler handler) {}

  private final String name;
  private final HttpServer server;
  private final ExecutorService executor;
  private final Map<String, Route> routes;
  private final Handler fallback;
  private final Handler methodNotAllowed;
  private final Function<RuntimeException, Response> onError;
  private final int maxRequestBody;
  private final List<Exchange> exchanges = new CopyOnWriteArrayList<>();
  private final AtomicBoolean closed = new AtomicBoolean();
  private final URI uri;
  private volatile Handler override;

  private SimulatorServer(Builder b) throws IOException, GeneralSecurityException {
    this.name = b.name;
    this.routes = Map.copyOf(b.routes);
    this.fallback = b.fallback;
    this.methodNotAllowed = b.methodNotAllowed;
    this.onError = b.onError;
    this.maxRequestBody = b.maxRequestBody;
    InetSocketAddress bind = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
    if (b.certificate != null) {
      SSLContext tls = SSLContext.getInstance("TLS");
      tls.init(
          new KeyManager[] {b.certificate.keyManager()},
          b.clientTrust == null ? null : new TrustManager[] {b.clientTrust},
          null);
      HttpsServer https = HttpsServer.create(bind, 128);
      ClientAuth clientAuth = b.clientAuth;
      https.setHttpsConfigurator(new HttpsConfigurator(tls) {
        @Override
        public void configure(HttpsParameters parameters) {
          SSLParameters ssl = tls.getDefaultSSLParameters();
          if (clientAuth == ClientAuth.NEED) {
            ssl.setNeedClientAuth(true);
          } else if (clientAuth == ClientAuth.WANT) {
            ssl.setWantClientAuth(true);
          }
          ssl.setApplicationProtocols(HTTP_1_1);
          parameters.setSSLParameters(ssl);
        }
      });
      this.server = https;
    } else {
      this.server = HttpServer.create(bind, 128);
    }
    this.executor = Executors.newCachedThreadPool(r -> {
      Thread t =
          new Thread(r, "machineid-testkit-" + name + "-" + THREAD_NUMBERS.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
    server.setExecutor(executor);
    server.createContext("/", this::exchange);
    server.start();
    this.uri = URI.create((b.certificate != null ? "https" : "http") + "://127.0.0.1:"
        + server.getAddress().getPort());
  }

  /** A builder; {@code name} names the server's threads ({@code machineid-testkit-<name>-<n>}). */
  public static Builder builder(String name) {
    return new Builder(name);
  }

  /** {@code http(s)://127.0.0.1:<port>}, without a trailing slash. */
  public URI uri() {
    return uri;
  }

  public int port() {
    return server.getAddress().getPort();
  }

  /** Every request so far with the status it got, oldest first. */
  public List<Exchange> exchanges() {
    return List.copyOf(exchanges);
  }

  /** From now on answers every request with {@code handler} instead of the routes; {@code null} goes back to them. */
  public void override(Handler handler) {
    this.override = handler;
  }

  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    server.stop(0);
    executor.shutdownNow();
  }

  @Override
  public String toString() {
    return "SimulatorServer[" + name + ", " + uri + (closed.get() ? ", closed]" : "]");
  }

  private void exchange(HttpExchange ex) throws IOException {
    try (ex) {
      byte[] body;
      try (InputStream in = ex.getRequestBody()) {
        body = in.readNBytes(maxRequestBody + 1);
      }
      Request request = new Request(
          ex.getRequestMethod(),
          ex.getRequestURI(),
          headers(ex),
          body.length > maxRequestBody ? new byte[0] : body,
          peerCertificates(ex));
      Response response;
      if (body.length > maxRequestBody) {
        response = Response.text(
            413, "text/plain", "request body larger than " + maxRequestBody + " bytes");
        ex.getResponseHeaders().set("Connection", "close");
      } else {
        response = answer(request);
      }
      exchanges.add(new Exchange(request, response.status()));
      response.headers().forEach((k, v) -> ex.getResponseHeaders().set(k, v));
      byte[] out = response.body;
      ex.sendResponseHeaders(response.status(), out.length == 0 ? -1 : out.length);
      if (out.length > 0) {
        try (OutputStream o = ex.getResponseBody()) {
          o.write(out);
        }
      }
    }
  }

  private Response answer(Request request) {
    try {
      Handler handler = override;
      if (handler == null) {
        Route route = routes.get(request.path());
        if (route == null) {
          handler = fallback;
        } else if (route.methods().contains(request.method())) {
          handler = route.handler();
        } else {
          handler = methodNotAllowed;
        }
      }
      return Objects.requireNonNull(handler.handle(request), "the handler answered null");
    } catch (RuntimeException e) {
      return onError.apply(e);
    }
  }

  private static Map<String, String> headers(HttpExchange ex) {
    Map<String, String> headers = new TreeMap<>();
    ex.getRequestHeaders()
        .forEach((k, v) ->
            headers.merge(k.toLowerCase(Locale.ROOT), String.join(",", v), (a, c) -> a + "," + c));
    return headers;
  }

  private static List<X509Certificate> peerCertificates(HttpExchange ex) {
    if (!(ex instanceof HttpsExchange https)) {
      return List.of();
    }
    SSLSession session = https.getSSLSession();
    try {
      List<X509Certificate> chain = new ArrayList<>();
      for (Certificate c : session.getPeerCertificates()) {
        chain.add((X509Certificate) c);
      }
      return chain;
    } catch (SSLPeerUnverifiedException e) {
      return List.of();
    }
  }

  /** Configures a {@link SimulatorServer}. */
  public static final class Builder {
    private final String name;
    private TestCertificateAuthority.Issued certificate;
    private ClientAuth clientAuth;
    private X509TrustManager clientTrust;
    private final Map<String, Route> routes = new LinkedHashMap<>();
    private Handler fallback = request -> Response.text(404, "text/plain", "Not Found");
    private Handler methodNotAllowed =
        request -> Response.text(405, "text/plain", "Method Not Allowed");
    private Function<RuntimeException, Response> onError =
        e -> Response.text(500, "text/plain", "internal error: " + e.getClass().getName());
    private int maxRequestBody = 1024 * 1024;

    private Builder(String name) {
      Objects.requireNonNull(name, "name");
      if (!name.matches("[a-z0-9-]{1,32}")) {
        throw new IllegalArgumentException(
            "name must be 1-32 of a-z, 0-9 and -, got '" + name + "'");
      }
      this.name = name;
    }

    /** Serves HTTPS with this certificate (e.g. {@link TestCertificateAuthority#issueServerCertificate}); plain HTTP without. */
    public Builder https(TestCertificateAuthority.Issued certificate) {
      this.certificate = Objects.requireNonNull(certificate, "certificate");
      return this;
    }

    /** Asks for ({@code WANT}) or requires ({@code NEED}) a client certificate that {@code trust} accepts; needs {@link #https}. */
    public Builder clientCertificates(ClientAuth mode, X509TrustManager trust) {
      this.clientAuth = Objects.requireNonNull(mode, "mode");
      this.clientTrust = Objects.requireNonNull(trust, "trust");
      return this;
    }

    /** Answers {@code path} (exact, as sent) with {@code handler} for {@code methods}. */
    public Builder route(Set<String> methods, String path, Handler handler) {
      Objects.requireNonNull(path, "path");
      if (!path.startsWith("/")) {
        throw new IllegalArgumentException("path must start with /, got '" + path + "'");
      }
      if (routes.containsKey(path)) {
        throw new IllegalStateException("a route for " + path + " is already added");
      }
      if (methods.isEmpty()) {
        throw new IllegalArgumentException("a route needs at least one method");
      }
      routes.put(path, new Route(Set.copyOf(methods), Objects.requireNonNull(handler, "handler")));
      return this;
    }

    /** Answers paths without a route; {@code 404} by default. */
    public Builder fallback(Handler handler) {
      this.fallback = Objects.requireNonNull(handler, "handler");
      return this;
    }

    /** Answers a routed path asked with another method; {@code 405} by default. */
    public Builder methodNotAllowed(Handler handler) {
      this.methodNotAllowed = Objects.requireNonNull(handler, "handler");
      return this;
    }

    /** Answers when a handler throws; by default {@code 500} naming the exception class. */
    public Builder onError(Function<RuntimeException, Response> onError) {
      this.onError = Objects.requireNonNull(onError, "onError");
      return this;
    }

    /** The largest request body accepted, in bytes; default 1 MiB. */
    public Builder maxRequestBody(int bytes) {
      if (bytes < 0 || bytes == Integer.MAX_VALUE) {
        throw new IllegalArgumentException("maxRequestBody must be 0 or more bytes, got " + bytes);
      }
      this.maxRequestBody = bytes;
      return this;
    }

    /**
     * Binds an ephemeral port on {@code 127.0.0.1} and starts serving.
     *
     * @throws IllegalStateException if client certificates are configured without HTTPS, or TLS cannot be set up
     * @throws UncheckedIOException if the port cannot be bound
     */
    public SimulatorServer start() {
      if (clientAuth != null && certificate == null) {
        throw new IllegalStateException("client certificates need https(certificate)");
      }
      try {
        return new SimulatorServer(this);
      } catch (IOException e) {
        throw new UncheckedIOException(
            "cannot start the " + name + " server: " + e.getMessage(), e);
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException(
            "cannot start the " + name + " server: " + e.getMessage(), e);
      }
    }
  }
}
