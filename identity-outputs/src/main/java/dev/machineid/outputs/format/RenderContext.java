package dev.machineid.outputs.format;

import dev.machineid.core.Credential;
import dev.machineid.core.Identity;
import dev.machineid.core.TrustBundle;
import java.nio.file.Path;
import java.util.Optional;

/**
 * What an output renders from: the bot identity, the role-scoped credential (absent for outputs of
 * the bot identity), the issuer's trust bundle, and the destination directory when the
 * destination is one (for paths written into {@code ssh_config}).
 */
record RenderContext(
    Identity identity, Credential credential, TrustBundle authority, Path directory) {
  Optional<Path> directoryPath() {
    return Optional.ofNullable(directory);
  }
}
