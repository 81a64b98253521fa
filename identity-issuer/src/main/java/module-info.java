/** The reference issuer: authorities, bots, tokens, join verifiers, renewal and the HTTPS server. */
// Micrometer, Flyway and Spring ship automatic modules only; requiring them is deliberate.
@SuppressWarnings("requires-automatic")
module dev.machineid.issuer {
  requires transitive dev.machineid.core;
  requires org.bouncycastle.provider;
  requires org.bouncycastle.pkix;
  requires org.eclipse.jetty.server;
  requires org.eclipse.jetty.io;
  requires org.eclipse.jetty.http;
  requires org.eclipse.jetty.util;
  requires org.slf4j;
  requires com.nimbusds.jose.jwt;
  requires java.net.http; // the iam verifier forwards to STS; the admin client of the issuer CLI
  requires java.xml; // the iam verifier parses STS's XML reply
  requires com.fasterxml.jackson.dataformat.yaml; // issuer.yaml and resource files
  requires micrometer.core; // automatic modules: /metrics
  requires micrometer.registry.prometheus;
  requires static info.picocli; // only the CLI (dev.machineid.issuer.cli) needs it
  requires java.sql;
  requires com.zaxxer.hikari;
  requires flyway.core; // automatic module (flyway-core 10 names none in its manifest)
  // Spring Boot 3 (optional): only internal.spring.IssuerFlywayImportFilter, loaded by Boot from
  // META-INF/spring.factories
  requires static spring.boot.autoconfigure;
  requires static spring.context;
  requires static spring.beans;
  requires static spring.core;

  exports dev.machineid.issuer;
  exports dev.machineid.issuer.join;
  exports dev.machineid.issuer.admin;
  exports dev.machineid.issuer.config;
  exports dev.machineid.issuer.store;

  opens dev.machineid.issuer to
      com.fasterxml.jackson.databind;
  // the admin API's request records (internal.admin.AdminRequests) are read by Jackson
  opens dev.machineid.issuer.internal.admin to
      com.fasterxml.jackson.databind;
  opens dev.machineid.issuer.cli to
      info.picocli;
  // Flyway finds the SQL migrations beside JdbcStore through the class loader.
  opens dev.machineid.issuer.store;

  uses dev.machineid.issuer.join.JoinVerifierProvider;

  provides dev.machineid.issuer.join.JoinVerifierProvider with
      dev.machineid.issuer.internal.join.TokenVerifierProvider,
      dev.machineid.issuer.internal.aws.IamVerifierProvider,
      dev.machineid.issuer.internal.aws.Ec2VerifierProvider;
}
