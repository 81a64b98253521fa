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
   * The names of the settings this method accepts ({@code join_methods.<name>} in
   * {@code issuer.yaml}), so a mistyped one is refused when the file is read, with the nearest
   * valid name; {@code null} (the default) leaves the check to {@link #create}.
   */
  default java.util.Set<String> settingNames() {
    return null;
  }

  /** Creates the verifier for one issuer. */
  JoinVerifier create(VerifierContext context);
}
