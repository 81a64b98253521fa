/**
 * Simulated AWS for tests: {@link dev.machineid.testkit.aws.Ec2MetadataServer} (IMDSv2 with a signed
 * instance identity document) and {@link dev.machineid.testkit.aws.StsSimulator} (HTTPS STS that
 * verifies SigV4 and answers {@code GetCallerIdentity}). Point the SDK and the issuer at them through
 * the same settings a user would change.
 */
package dev.machineid.testkit.aws;
