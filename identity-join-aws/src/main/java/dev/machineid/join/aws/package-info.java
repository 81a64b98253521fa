/**
 * AWS join methods for {@link dev.machineid.core.MachineIdentity}: {@link dev.machineid.join.aws.IamJoinMethod}
 * ({@code iam}) proves an IAM role or user with a signed {@code sts:GetCallerIdentity} request that
 * carries the issuer's challenge; {@link dev.machineid.join.aws.Ec2JoinMethod} ({@code ec2}) proves
 * an EC2 instance with its signed instance identity document. Both are found by name through
 * {@link java.util.ServiceLoader}: {@code joinMethod("iam", Map.of("token", "my-token"))}.
 */
package dev.machineid.join.aws;
