package dev.machineid.join.aws;

import dev.machineid.core.JoinException;
import dev.machineid.core.join.JoinContext;
import dev.machineid.core.join.JoinMethod;
import dev.machineid.core.join.JoinMethodProvider;
import dev.machineid.core.join.JoinProof;
import java.net.URI;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.http.ContentStreamProvider;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;
import software.amazon.awssdk.http.auth.spi.signer.HttpSigner;
import software.amazon.awssdk.http.auth.spi.signer.SignedRequest;
import software.amazon.awssdk.identity.spi.AwsCredentialsIdentity;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.regions.RegionMetadata;
import software.amazon.awssdk.regions.providers.AwsRegionProvider;
import software.amazon.awssdk.regions.providers.DefaultAwsRegionProviderChain;

/**
 * The {@code iam} join method: proves the AWS identity (role or user) of this process with an
 * {@code sts:GetCallerIdentity} request signed by the AWS SDK's SigV4 signer. The request is
 * <b>not</b> sent to AWS: it travels to the issuer as the proof, and the issuer forwards it to a
 * known STS endpoint. The header {@code X-Machine-Identity-Challenge} carries the challenge id and is
 * covered by the signature, so a captured proof is useless for any other join.
 *
 * <p>Credentials come from the SDK's default provider chain (environment, system properties, web
 * identity, profile, container, instance profile); the region from the SDK's default region chain.
 * Non-renewable: every renewal signs a fresh request.
 *
 * <p>Settings (YAML {@code onboarding.iam} or {@code joinMethod("iam", settings)}): {@code token}
 * (required, the token resource's name), {@code region} (overrides the SDK's resolution),
 * {@code sts_endpoint} (an STS URL to sign for instead of {@code https://sts.<region>.amazonaws.com};
 * the issuer must list its host).
 *
 * <p>The AWS principal needs no IAM permission: {@code GetCallerIdentity} is always allowed.
 */
public final class IamJoinMethod implements JoinMethod {
  public static final String NAME = "iam";
  /** The header that carries the challenge id; it must be among the signed headers. */
  public static final String CHALLENGE_HEADER = "X-Machine-Identity-Challenge";
  /** The only body the issuer accepts. */
  public static final String BODY = "Action=GetCallerIdentity&Version=2011-06-15";

  private static final Logger LOG = LoggerFactory.getLogger(IamJoinMethod.class);
  private static final Set<String> SETTINGS = Set.of("token", "region", "sts_endpoint");

  private final String token;
  private final AwsCredentialsProvider credentials;
  private final Region region;
  private final URI stsEndpoint;
  private final AwsRegionProvider regionProvider;

  private IamJoinMethod(Builder b) {
    this.token = b.token;
    this.credentials = b.credentials != null ? b.credentials : DefaultCredentialsProvider.create();
    this.region = b.region;
    this.stsEndpoint = b.stsEndpoint;
    this.regionProvider =
        b.regionProvider != null ? b.regionProvider : new DefaultAwsRegionProviderChain();
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
    return false;
  }

  @Override
  public JoinProof attest(JoinContext context) {
    Region signingRegion = resolveRegion();
    URI endpoint = stsEndpoint != null ? stsEndpoint : endpointFor(signingRegion);
    AwsCredentialsIdentity identity;
    try {
      identity = credentials.resolveCredentials();
    } catch (RuntimeException e) {
      throw new JoinException(
          "join method 'iam' found no AWS credentials (" + e.getMessage()
              + "); give the process a role "
              + "(instance profile, EKS IRSA or Pod Identity, ECS task role, Lambda execution role) or set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY",
          e);
    }
    SdkHttpRequest request = SdkHttpRequest.builder()
        .method(SdkHttpMethod.POST)
        .uri(endpoint)
        .putHeader("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
        .putHeader(CHALLENGE_HEADER, context.challengeId())
        .build();
    SignedRequest signed;
    try {
      signed = AwsV4HttpSigner.create().sign(r -> r.identity(identity)
          .request(request)
          .payload(ContentStreamProvider.fromUtf8String(BODY))
          .putProperty(AwsV4HttpSigner.SERVICE_SIGNING_NAME, "sts")
          .putProperty(AwsV4HttpSigner.REGION_NAME, signingRegion.id())
          .putProperty(HttpSigner.SIGNING_CLOCK, context.clock()));
    } catch (RuntimeException e) {
      throw new JoinException(
          "join method 'iam' could not sign sts:GetCallerIdentity: " + e.getMessage(), e);
    }
    Map<String, String> headers = new LinkedHashMap<>();
    for (Map.Entry<String, List<String>> h : signed.request().headers().entrySet()) {
      headers.put(h.getKey(), String.join(",", h.getValue()));
    }
    Map<String, Object> sts = new LinkedHashMap<>();
    sts.put("method", "POST");
    sts.put("url", signed.request().getUri().toString());
    sts.put("headers", headers);
    sts.put("body", BODY);
    LOG.debug(
        "signed sts:GetCallerIdentity for {} (region {})", endpoint.getHost(), signingRegion.id());
    return JoinProof.builder().put("sts_request", sts).build();
  }

  private Region resolveRegion() {
    if (region != null) {
      return region;
    }
    try {
      return regionProvider.getRegion();
    } catch (RuntimeException e) {
      LOG.warn(
          "no AWS region found ({}); signing for the global STS endpoint in us-east-1. Set AWS_REGION or the join setting 'region'",
          e.getMessage());
      return Region.US_EAST_1;
    }
  }

  /** The regional STS endpoint of a region: {@code https://sts.<region>.<partition domain>}. */
  static URI endpointFor(Region region) {
    RegionMetadata meta = region.metadata();
    String domain = meta != null
        ? meta.partition().dnsSuffix()
        : region.id().startsWith("cn-") ? "amazonaws.com.cn" : "amazonaws.com";
    return URI.create("https://sts." + region.id() + "." + domain + "/");
  }

  @Override
  public String toString() {
    return "iam(token " + token + ")";
  }

  /** Settings of {@link IamJoinMethod}; nothing but {@link #token} is required. */
  public static final class Builder {
    private String token;
    private AwsCredentialsProvider credentials;
    private Region region;
    private URI stsEndpoint;
    private AwsRegionProvider regionProvider;

    private Builder() {}

    /** The name of the token resource holding this bot's rules (not a secret). */
    public Builder token(String token) {
      Objects.requireNonNull(token, "token");
      if (token.isBlank()) {
        throw new IllegalArgumentException("token must not be blank");
      }
      once(this.token, "token");
      this.token = token.trim();
      return this;
    }

    /** Credentials to sign with; default the SDK's {@link DefaultCredentialsProvider}. */
    public Builder credentialsProvider(AwsCredentialsProvider provider) {
      once(this.credentials, "credentialsProvider");
      this.credentials = Objects.requireNonNull(provider, "provider");
      return this;
    }

    /** The signing region and regional endpoint; default the SDK's region chain. */
    public Builder region(Region region) {
      once(this.region, "region");
      this.region = Objects.requireNonNull(region, "region");
      return this;
    }

    /** Where the region comes from when {@link #region} is not set; default the SDK's chain. */
    public Builder regionProvider(AwsRegionProvider provider) {
      once(this.regionProvider, "regionProvider");
      this.regionProvider = Objects.requireNonNull(provider, "provider");
      return this;
    }

    /** An STS URL (https) to sign for instead of the region's endpoint; the issuer must know its host. */
    public Builder stsEndpoint(URI endpoint) {
      once(this.stsEndpoint, "stsEndpoint");
      Objects.requireNonNull(endpoint, "endpoint");
      if (!"https".equalsIgnoreCase(endpoint.getScheme()) || endpoint.getHost() == null) {
        throw new IllegalArgumentException("sts_endpoint must be an https URL, got " + endpoint);
      }
      if (endpoint.getRawQuery() != null) {
        throw new IllegalArgumentException(
            "sts_endpoint must not have a query string, got " + endpoint);
      }
      String path = endpoint.getRawPath();
      this.stsEndpoint = path == null || path.isEmpty() ? endpoint.resolve("/") : endpoint;
      return this;
    }

    public IamJoinMethod build() {
      if (token == null) {
        throw new IllegalArgumentException(
            "join method 'iam' needs a token: the name of the token resource holding the bot's rules");
      }
      return new IamJoinMethod(this);
    }

    private static void once(Object current, String name) {
      if (current != null) {
        throw new IllegalStateException(name + " was already set");
      }
    }
  }

  /** ServiceLoader provider for {@code iam}; settings {@code token}, {@code region}, {@code sts_endpoint}. */
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
      Builder b = builder().token(s.token());
      String region = s.text("region");
      if (region != null) {
        b.region(Region.of(region));
      }
      URI endpoint = s.uri("sts_endpoint");
      if (endpoint != null) {
        b.stsEndpoint(endpoint);
      }
      return b.build();
    }
  }
}
