package dev.machineid.testkit.aws;

import dev.machineid.testkit.http.SimulatorServer;
import dev.machineid.testkit.http.SimulatorServer.Request;
import dev.machineid.testkit.http.SimulatorServer.Response;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Base64;
import java.util.Date;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.UnaryOperator;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.jcajce.JcaCertStore;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.cms.CMSProcessableByteArray;
import org.bouncycastle.cms.CMSSignedDataGenerator;
import org.bouncycastle.cms.jcajce.JcaSignerInfoGeneratorBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.jcajce.JcaDigestCalculatorProviderBuilder;

/**
 * A simulated EC2 instance metadata service (IMDSv2) on 127.0.0.1 for tests: {@code PUT
 * /latest/api/token} with {@code X-aws-ec2-metadata-token-ttl-seconds} (1–21600, else 400; a request
 * carrying {@code X-Forwarded-For} gets 403, as IMDS does), then {@code GET
 * /latest/dynamic/instance-identity/document} and {@code …/rsa2048} with
 * {@code X-aws-ec2-metadata-token} (401 without a valid, unexpired token, unless IMDSv1 is allowed).
 * The document is signed, like AWS's, as a PKCS7 SignedData with the document encapsulated and no
 * certificate included, by a test RSA-2048 certificate: configure the issuer's {@code ec2} verifier
 * with {@link #certificatePem()} as {@code additional_certificates}. It runs on the testkit's
 * {@link dev.machineid.testkit.http.SimulatorServer}.
 *
 * <pre>{@code
 * try (Ec2MetadataServer imds = Ec2MetadataServer.builder().accountId("123456789012").build()) {
 *   Issuer.builder().verifierSettings("ec2", Map.of("additional_certificates", imds.certificatePem()));
 *   MachineIdentity.builder().joinMethod("ec2", Map.of("token", "my-ec2-token", "imds_endpoint", imds.endpoint().toString()));
 * }
 * }</pre>
 */
public final class Ec2MetadataServer implements AutoCloseable {
  private final SimulatorServer server;
  private final Clock clock;
  private final String accountId;
  private final String region;
  private final String instanceId;
  private final Instant pendingTime;
  private final boolean allowV1;
  private final UnaryOperator<String> tamper;
  private final KeyPair key;
  private final X509Certificate certificate;
  private final SecureRandom random = new SecureRandom();
  private final Map<String, Instant> tokens = new ConcurrentHashMap<>();
  private volatile boolean closed;

  private Ec2MetadataServer(Builder b) {
    this.clock = b.clock;
    this.accountId = b.accountId;
    this.region = b.region;
    this.instanceId = b.instanceId;
    this.pendingTime =
        (b.pendingTime != null ? b.pendingTime : clock.instant()).truncatedTo(ChronoUnit.SECONDS);
    this.allowV1 = b.allowV1;
    this.tamper = b.tamper;
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
      g.initialize(2048, random);
      this.key = g.generateKeyPair();
      Instant now = clock.instant();
      X500Name name = new X500Name("CN=" + b.certificateName + ", O=machineid testkit");
      this.certificate = new JcaX509CertificateConverter()
          .getCertificate(new JcaX509v3CertificateBuilder(
                  name,
                  new BigInteger(64, random),
                  Date.from(now.minus(Duration.ofDays(1))),
                  Date.from(now.plus(Duration.ofDays(365))),
                  name,
                  key.getPublic())
              .build(new JcaContentSignerBuilder("SHA256withRSA").build(key.getPrivate())));
    } catch (Exception e) {
      throw new IllegalStateException("cannot make the test document-signing certificate", e);
    }
    this.server = SimulatorServer.builder("imds").fallback(this::handle).start();
  }

  public static Builder builder() {
    return new Builder();
  }

  /** The base address, e.g. {@code http://127.0.0.1:41234}: the {@code imds_endpoint} join setting. */
  public URI endpoint() {
    return server.uri();
  }

  /** The document-signing certificate, PEM: the {@code ec2} verifier's {@code additional_certificates}. */
  public String certificatePem() {
    try (StringWriter out = new StringWriter();
        JcaPEMWriter w = new JcaPEMWriter(out)) {
      w.writeObject(certificate);
      w.flush();
      return out.toString();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  public X509Certificate certificate() {
    return certificate;
  }

  /** The identity document as signed. */
  public String document() {
    return "{\n"
        + "  \"accountId\" : \"" + accountId + "\",\n"
        + "  \"architecture\" : \"x86_64\",\n"
        + "  \"availabilityZone\" : \"" + region + "a\",\n"
        + "  \"billingProducts\" : null,\n"
        + "  \"devpayProductCodes\" : null,\n"
        + "  \"marketplaceProductCodes\" : null,\n"
        + "  \"imageId\" : \"ami-0123456789abcdef0\",\n"
        + "  \"instanceId\" : \"" + instanceId + "\",\n"
        + "  \"instanceType\" : \"t3.micro\",\n"
        + "  \"kernelId\" : null,\n"
        + "  \"pendingTime\" : \"" + pendingTime + "\",\n"
        + "  \"privateIp\" : \"10.0.0.10\",\n"
        + "  \"ramdiskId\" : null,\n"
        + "  \"region\" : \"" + region + "\",\n"
        + "  \"version\" : \"2017-09-30\"\n"
        + "}";
  }

  /** The base64 PKCS7 of {@link #document()}, 64 characters a line, as IMDS serves {@code rsa2048}. */
  public String signature() {
    try {
      CMSSignedDataGenerator gen = new CMSSignedDataGenerator();
      gen.addSignerInfoGenerator(new JcaSignerInfoGeneratorBuilder(
              new JcaDigestCalculatorProviderBuilder().build())
          .build(
              new JcaContentSignerBuilder("SHA256withRSA").build(key.getPrivate()), certificate));
      gen.addCertificates(new JcaCertStore(List.of()));
      byte[] der = gen.generate(
              new CMSProcessableByteArray(document().getBytes(StandardCharsets.UTF_8)), true)
          .getEncoded();
      return Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
          .encodeToString(der);
    } catch (Exception e) {
      throw new IllegalStateException("cannot sign the identity document", e);
    }
  }

  /** Requests received, as {@code METHOD path}. */
  public List<String> requests() {
    return server.exchanges().stream()
        .map(e -> e.request().method() + " " + e.request().uri().getPath())
        .toList();
  }

  private Response handle(Request request) {
    String path = request.uri().getPath();
    String method = request.method();
    if (request.header("X-Forwarded-For").isPresent()) {
      return respond(403, "Forbidden");
    }
    if (path.equals("/latest/api/token")) {
      if (!method.equals("PUT")) {
        return respond(405, "Method Not Allowed");
      }
      String ttlText = request.header("X-aws-ec2-metadata-token-ttl-seconds").orElse("");
      int ttl;
      try {
        ttl = Integer.parseInt(ttlText.trim());
      } catch (NumberFormatException e) {
        ttl = -1;
      }
      if (ttl < 1 || ttl > 21600) {
        return respond(400, "Bad Request");
      }
      byte[] raw = new byte[32];
      random.nextBytes(raw);
      String token = Base64.getUrlEncoder().withoutPadding().encodeToString(raw);
      tokens.put(token, clock.instant().plusSeconds(ttl));
      return respond(200, token)
          .withHeader("X-aws-ec2-metadata-token-ttl-seconds", Integer.toString(ttl));
    }
    if (!method.equals("GET")) {
      return respond(405, "Method Not Allowed");
    }
    String token = request.header("X-aws-ec2-metadata-token").orElse(null);
    if (token != null) {
      Instant exp = tokens.get(token);
      if (exp == null || !clock.instant().isBefore(exp)) {
        return respond(401, "Unauthorized");
      }
    } else if (!allowV1) {
      return respond(401, "Unauthorized");
    }
    return switch (path) {
      case "/latest/dynamic/instance-identity/document" -> respond(200, tamper.apply(document()));
      case "/latest/dynamic/instance-identity/rsa2048" -> respond(200, signature());
      default -> respond(404, "Not Found");
    };
  }

  private static Response respond(int status, String body) {
    return Response.text(status, "text/plain", body);
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    server.close();
  }

  /** Settings; defaults: account {@code 123456789012}, {@code us-east-1}, a random instance id, pending now. */
  public static final class Builder {
    private Clock clock = Clock.systemUTC();
    private String accountId = "123456789012";
    private String region = "us-east-1";
    private String instanceId = "i-" + HexFormat.of().formatHex(randomBytes(9)).substring(0, 17);
    private Instant pendingTime;
    private boolean allowV1;
    private UnaryOperator<String> tamper = UnaryOperator.identity();
    private String certificateName = "Test EC2 instance identity";

    private Builder() {}

    private static byte[] randomBytes(int n) {
      byte[] b = new byte[n];
      new SecureRandom().nextBytes(b);
      return b;
    }

    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    public Builder accountId(String accountId) {
      this.accountId = Objects.requireNonNull(accountId, "accountId");
      return this;
    }

    public Builder region(String region) {
      this.region = Objects.requireNonNull(region, "region");
      return this;
    }

    public Builder instanceId(String instanceId) {
      this.instanceId = Objects.requireNonNull(instanceId, "instanceId");
      return this;
    }

    /** When the instance started; default now (at build). */
    public Builder pendingTime(Instant pendingTime) {
      this.pendingTime = Objects.requireNonNull(pendingTime, "pendingTime");
      return this;
    }

    /** Serves the documents without a session token too (IMDSv1, {@code HttpTokens=optional}). */
    public Builder allowImdsV1(boolean allow) {
      this.allowV1 = allow;
      return this;
    }

    /** Serves {@code document} changed by {@code tamper} while signing the original: a failure fixture. */
    public Builder tamperServedDocument(UnaryOperator<String> tamper) {
      this.tamper = Objects.requireNonNull(tamper, "tamper");
      return this;
    }

    /** The common name of the test signing certificate. */
    public Builder certificateName(String name) {
      this.certificateName = Objects.requireNonNull(name, "name");
      return this;
    }

    public Ec2MetadataServer build() {
      try {
        return new Ec2MetadataServer(this);
      } catch (UncheckedIOException e) {
        throw new IllegalStateException("cannot start the simulated IMDS: " + e.getMessage(), e);
      }
    }
  }
}
