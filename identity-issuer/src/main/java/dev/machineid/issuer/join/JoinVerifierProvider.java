package dev.machineid.issuer.join;

/**
 * The {@link java.util.ServiceLoader} service that makes a {@link JoinVerifier}. List an
 * implementation in {@code module-info} ({@code provides}) and in
 * {@code META-INF/services/dev.machineid.issuer.join.JoinVerifierProvider}.
 */
public interface JoinVerifierProvider {
  /** The join method's wire name; must equal the created verifier's {@link JoinVerifier#name()}. */
  String name();

  /**
   * Creates the verifier for one issuer. Settings are read through {@link
   * VerifierContext#settingsView()}; once this returns, the issuer refuses every key the verifier did
   * not read or {@linkplain dev.machineid.core.config.Settings#declare declare}, with its path.
   */
  JoinVerifier create(VerifierContext context);
}
