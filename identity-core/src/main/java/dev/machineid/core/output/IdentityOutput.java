package dev.machineid.core.output;

import dev.machineid.core.Identity;
import dev.machineid.core.protocol.Pem;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * The {@code identity} output: the bot's own certificate ({@code tlscert}), key ({@code key}) and
 * trust bundle ({@code tlscacerts}) as PEM, the file names tbot uses.
 */
public final class IdentityOutput implements Output {
  public static final String TYPE = "identity";
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
    destination.write(files);
  }

  /** ServiceLoader provider for {@code type: identity}. */
  public static final class Provider implements OutputProvider {
    @Override
    public String type() {
      return TYPE;
    }

    @Override
    public Output create(Map<String, Object> settings, Destination destination) {
      return new IdentityOutput(destination);
    }
  }
}
