/**
 * The AWS join methods: {@code iam} (a SigV4-signed {@code sts:GetCallerIdentity} request that the
 * issuer forwards to STS) and {@code ec2} (the instance identity document and its PKCS7 signature,
 * read with IMDSv2).
 */
// The AWS SDK for Java 2 ships automatic modules only (Automatic-Module-Name); requiring them, and
// passing the credentials and region types of this module's API on to its users, is deliberate.
@SuppressWarnings({"requires-automatic", "requires-transitive-automatic"})
module dev.machineid.join.aws {
  requires transitive dev.machineid.core;
  requires transitive software.amazon.awssdk.auth;
  requires transitive software.amazon.awssdk.regions;
  requires software.amazon.awssdk.http.auth.aws;
  requires software.amazon.awssdk.http.auth.spi;
  requires software.amazon.awssdk.http;
  requires software.amazon.awssdk.identity.spi;
  requires software.amazon.awssdk.utils;
  // Not used in code: resolves STS for the SDK's web identity (EKS IRSA) credentials provider,
  // which
  // loads it by name. The HTTP client (url-connection-client) is found through ServiceLoader.
  requires software.amazon.awssdk.services.sts;
  requires java.net.http;
  requires org.slf4j;

  exports dev.machineid.join.aws;

  provides dev.machineid.core.join.JoinMethodProvider with
      dev.machineid.join.aws.IamJoinMethod.Provider,
      dev.machineid.join.aws.Ec2JoinMethod.Provider;
}
