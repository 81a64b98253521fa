/** The reference issuer: authorities, bots, tokens, join verifiers, renewal and the HTTPS server. */
module dev.machineid.issuer {
  requires transitive dev.machineid.core;
  requires org.bouncycastle.provider;
  requires org.bouncycastle.pkix;
  requires org.eclipse.jetty.server;
  requires org.eclipse.jetty.io;
  requires org.eclipse.jetty.http;
  requires org.eclipse.jetty.util;
  requires org.slf4j;

  exports dev.machineid.issuer;
  exports dev.machineid.issuer.join;

  opens dev.machineid.issuer to com.fasterxml.jackson.databind;

  uses dev.machineid.issuer.join.JoinVerifierProvider;

  provides dev.machineid.issuer.join.JoinVerifierProvider with
      dev.machineid.issuer.internal.TokenVerifierProvider;
}
