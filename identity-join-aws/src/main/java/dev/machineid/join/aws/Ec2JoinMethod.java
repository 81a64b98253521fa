package dev.machineid.join.aws;

import dev.machineid.core.JoinException;
import dev.machineid.core.join.JoinContext;
import dev.machineid.core.join.JoinMethod;
import dev.machineid.core.join.JoinMethodProvider;
import dev.machineid.core.join.JoinProof;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Objects;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code ec2} join method: proves an EC2 instance with its instance identity document and the
 * document's {@code rsa2048} PKCS7 signature, read from the instance metadata service with IMDSv2
 * (a session token from {@code PUT /latest/api/token}, then the two {@code GET}s). IMDSv1 (no
 * session token) is used only when {@code imds_v1: true} and IMDSv2 is unavailable.
 *
 * <p>The document cannot carry the issuer's challenge, so the issuer binds it to the first bot
 * instance that used it. The method is renewable: after the first join the bot renews with
 * {@code /v1/renew} and generations, so a service that must survive a restart needs directory
 * storage.
 *
 * <p>Settings: {@code token} (required), {@code imds_endpoint} (default
 * {@code http://169.254.169.254}), {@code imds_v1} (default false), {@code imds_timeout} (default
 * {@code 2s}).
 */
public final class Ec2JoinMethod implements JoinMethod {
  public static final String NAME = "ec2";
  public static final URI DEFAULT_IMDS = URI.create("http://169.254.169.254");
  static final String TOKEN_PATH = "/latest/api/token";
  static final String DOCUMENT_PATH = "/latest/dynamic/instance-identity/document";
  static final String SIGNATURE_PATH = "/latest/dynamic/instance-identity/rsa2048";
  static final String TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds";
  static final String TOKEN_HEADER = "X-aws-ec2-metadata-token";
  private static final Logger LOG = LoggerFactory.getLogger(Ec2JoinMethod.class);
  private static final Set<String> SETTINGS =
      Set.of("token", "imds_endpoint", "imds_v1", "imds_timeout");
  private static final int MAX_BYTES = 64 * 1024;

  private final String token;
  private final URI imds;
  private final boolean allowV1;
  private final Duration timeout;
  private final HttpClient http;

  private Ec2JoinMethod(Builder b) {
    this.token = b.token;
    this.imds = b.imds != null ? b.imds : DEFAULT_IMDS;
    this.allowV1 = b.allowV1;
    this.timeout = b.timeout != null ? b.timeout : Duration.ofSeconds(2);
    this.http = HttpClient.newBuilder()
        .followRedirects(HttpClient.Redirect.NEVER)
        .connectTimeout(timeout)
        .proxy(HttpClient.Builder.NO_PROXY)
        .build();
  }

  public static Builder builder() {
    return new Builder();
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public String token() {
    return token;
  }

  @Override
  public boolean renewable() {
    return true;
  }

  @Override
  public JoinProof attest(JoinContext context) {
    String session = sessionToken();
    String document = get(DOCUMENT_PATH, session);
    String signature = get(SIGNATURE_PATH, session).replaceAll("\\s+", "");
    return JoinProof.builder()
        .put("document", document)
        .put("signature", signature)
        .build();
  }

  private String sessionToken() {
    HttpRequest put = HttpRequest.newBuilder(imds.resolve(TOKEN_PATH))
        .timeout(timeout)
        .header(TTL_HEADER, "60")
        .PUT(HttpRequest.BodyPublishers.noBody())
        .build();
    HttpResponse<String> r;
    try {
      r = http.send(put, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    } catch (IOException e) {
      if (allowV1) {
        LOG.warn(
            "IMDSv2 session token unavailable at {} ({}); falling back to IMDSv1 because imds_v1 is set",
            imds,
            e.toString());
        return null;
      }
      throw new JoinException(
          "join method 'ec2' cannot reach the instance metadata service at " + imds + " (" + e
              + "). Run on EC2, or set imds_endpoint",
          e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new JoinException("interrupted while reading the instance metadata service", e);
    }
    if (r.statusCode() == 200 && !r.body().isBlank()) {
      return r.body().trim();
    }
    if (allowV1) {
      LOG.warn(
          "IMDSv2 session token refused by {} (HTTP {}); falling back to IMDSv1 because imds_v1 is set",
          imds,
          r.statusCode());
      return null;
    }
    throw new JoinException(
        "join method 'ec2': the instance metadata service at " + imds
            + " refused an IMDSv2 session token (HTTP " + r.statusCode()
            + "). Check the instance's metadata options (http-endpoint enabled, hop limit >= 2 in containers)");
  }

  private String get(String path, String session) {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(imds.resolve(path)).timeout(timeout).GET();
    if (session != null) {
      b.header(TOKEN_HEADER, session);
    }
    HttpResponse<byte[]> r;
    try {
      r = http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    } catch (IOException e) {
      throw new JoinException(
          "join method 'ec2' cannot read " + path + " from " + imds + ": " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new JoinException("interrupted while reading the instance metadata service", e);
    }
    if (r.statusCode() != 200) {
      throw new JoinException(
          "join method 'ec2': " + imds + path + " answered HTTP " + r.statusCode()
              + (r.statusCode() == 401 ? " (the IMDSv2 session token was refused)" : ""));
    }
    if (r.body().length > MAX_BYTES) {
      throw new JoinException(
          "join method 'ec2': " + imds + path + " answered more than " + MAX_BYTES + " bytes");
    }
    return new String(r.body(), StandardCharsets.UTF_8);
  }

  @Override
  public String toString() {
    return "ec2(token " + token + ", imds " + imds + ")";
  }

  /** Settings of {@link Ec2JoinMethod}; nothing but {@link #token} is required. */
  public static final class Builder {
    private String token;
    private URI imds;
    private boolean allowV1;
    private Duration timeout;

    private Builder() {}

    /** The name of the token resource holding this bot's rules (not a secret). */
    public Builder token(String token) {
      Objects.requireNonNull(token, "token");
      if (token.isBlank()) {
        throw new IllegalArgumentException("token must not be blank");
      }
      if (this.token != null) {
        throw new IllegalStateException("token was already set");
      }
      this.token = token.trim();
      return this;
    }

    /** The metadata service's base address; default {@code http://169.254.169.254}. */
    public Builder imdsEndpoint(URI endpoint) {
      Objects.requireNonNull(endpoint, "endpoint");
      if (endpoint.getScheme() == null
          || !endpoint.getScheme().matches("https?")
          || endpoint.getHost() == null) {
        throw new IllegalArgumentException("imds_endpoint must be an http(s) URL, got " + endpoint);
      }
      if (this.imds != null) {
        throw new IllegalStateException("imds_endpoint was already set");
      }
      this.imds = endpoint;
      return this;
    }

    /** Allows IMDSv1 (no session token) when IMDSv2 is unavailable; default false. */
    public Builder allowImdsV1(boolean allow) {
      this.allowV1 = allow;
      return this;
    }

    /** Timeout of each metadata request; default 2 s. */
    public Builder timeout(Duration timeout) {
      Objects.requireNonNull(timeout, "timeout");
      if (timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException("imds_timeout must be positive, got " + timeout);
      }
      this.timeout = timeout;
      return this;
    }

    public Ec2JoinMethod build() {
      if (token == null) {
        throw new IllegalArgumentException(
            "join method 'ec2' needs a token: the name of the token resource holding the bot's rules");
      }
      return new Ec2JoinMethod(this);
    }
  }

  /** ServiceLoader provider for {@code ec2}. */
  public static final class Provider implements JoinMethodProvider {
    /** Called by {@link java.util.ServiceLoader}. */
    public Provider() {}

    @Override
    public String name() {
      return NAME;
    }

    @Override
    public JoinMethod create(dev.machineid.core.config.Settings settings) {
      Settings s = new Settings(NAME, settings, SETTINGS);
      Builder b = builder().token(s.token()).allowImdsV1(s.bool("imds_v1"));
      URI endpoint = s.uri("imds_endpoint");
      if (endpoint != null) {
        b.imdsEndpoint(endpoint);
      }
      Duration t = s.duration("imds_timeout");
      if (t != null) {
        b.timeout(t);
      }
      return b.build();
    }
  }
}
