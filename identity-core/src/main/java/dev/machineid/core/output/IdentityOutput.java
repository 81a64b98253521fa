package dev.machineid.core.output;

import dev.machineid.core.Identity;
import dev.machineid.core.protocol.Pem;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The bot's own identity as files, named as tbot's: certificate chain ({@code tlscert}), key
 * ({@code key}, PKCS#8 PEM, which OpenSSH also reads), trust bundle ({@code tlscacerts}) and, when the
 * identity carries one, its SSH user certificate ({@code key-cert.pub}). The config {@code type:
 * identity} comes with {@code dev.machineid:identity-outputs}, which adds {@code ssh_config},
 * {@code known_hosts} and a {@code reload} hook to these files; this class is for code that adds an
 * output to {@link dev.machineid.core.MachineIdentity.Builder#output} itself.
 */
public final class IdentityOutput implements Output {
  public static final String TYPE = "identity";
  private static final Logger LOG = LoggerFactory.getLogger(IdentityOutput.class);
  private final Destination destination;

  public IdentityOutput(Destination destination) {
    this.destination = Objects.requireNonNull(destination, "destination");
  }

  @Override
  public String name() {
    return TYPE + ":" + destination;
  }

  @Override
  public void write(Identity identity) {
    destination.write(files(identity));
    LOG.info(
        "output {} written: bot '{}', serial {}, valid until {}",
        name(),
        identity.botName(),
        identity.serialHex(),
        identity.notAfter());
  }

  @Override
  public void check() {
    destination.check();
  }

  /** The identity output asks for the bot's SSH certificate, as tbot's identity carries one. */
  @Override
  public boolean rendersSshCertificate() {
    return true;
  }

  /**
   * {@code tlscert}, {@code key}, {@code tlscacerts} and, if the identity has an SSH certificate,
   * {@code key-cert.pub}: name → bytes, in that order.
   */
  public static Map<String, byte[]> files(Identity identity) {
    Objects.requireNonNull(identity, "identity");
    StringBuilder chain = new StringBuilder();
    for (X509Certificate c : identity.certificateChain()) {
      chain.append(Pem.encode(c));
    }
    StringBuilder bundle = new StringBuilder();
    for (X509Certificate c : identity.trustBundle()) {
      bundle.append(Pem.encode(c));
    }
    Map<String, byte[]> files = new LinkedHashMap<>();
    files.put("tlscert", chain.toString().getBytes(StandardCharsets.US_ASCII));
    files.put("key", Pem.encode(identity.privateKey()).getBytes(StandardCharsets.US_ASCII));
    files.put("tlscacerts", bundle.toString().getBytes(StandardCharsets.US_ASCII));
    identity
        .sshCertificate()
        .ifPresent(cert ->
            files.put("key-cert.pub", (cert.strip() + "\n").getBytes(StandardCharsets.US_ASCII)));
    return files;
  }
}
