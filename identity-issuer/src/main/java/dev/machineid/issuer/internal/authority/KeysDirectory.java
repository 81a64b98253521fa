package dev.machineid.issuer.internal.authority;

import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.UserPrincipal;
import java.util.Set;

/**
 * The check of the keys directory at start: whoever can write to it can replace the authority key
 * or the challenge MAC key, so it must belong to the user that runs the issuer (or root) and must
 * not be writable by its group or by others. A directory that does not exist yet is created 0700
 * by {@link KeyMaterial}. On a file system without POSIX permissions nothing is checked.
 */
public final class KeysDirectory {
  private KeysDirectory() {}

  /**
   * @throws IllegalStateException saying what is wrong with {@code dir} and the {@code chmod} or
   *     {@code chown} that fixes it
   */
  public static void check(Path dir) {
    check(dir, System.getProperty("user.name"));
  }

  static void check(Path dir, String runningUser) {
    if (!Files.exists(dir)
        || !FileSystems.getDefault().supportedFileAttributeViews().contains("posix")) {
      return;
    }
    PosixFileAttributes a;
    try {
      a = Files.readAttributes(dir, PosixFileAttributes.class);
    } catch (IOException | UnsupportedOperationException e) {
      throw new IllegalStateException(
          "cannot read the owner and mode of the keys directory " + dir + ": " + e.getMessage(), e);
    }
    if (!a.isDirectory()) {
      throw new IllegalStateException("the keys directory " + dir + " is not a directory");
    }
    UserPrincipal owner = a.owner();
    if (!owner.getName().equals(runningUser) && !owner.getName().equals("root")) {
      throw new IllegalStateException("the keys directory " + dir.toAbsolutePath()
          + " belongs to user '" + owner.getName() + "', not to '" + runningUser
          + "' who runs the issuer; another user could replace the authority keys. Run: chown "
          + runningUser + " " + dir.toAbsolutePath());
    }
    Set<PosixFilePermission> p = a.permissions();
    if (p.contains(PosixFilePermission.GROUP_WRITE)
        || p.contains(PosixFilePermission.OTHERS_WRITE)) {
      throw new IllegalStateException(
          "the keys directory " + dir.toAbsolutePath() + " is writable by "
              + (p.contains(PosixFilePermission.OTHERS_WRITE) ? "other users" : "its group")
              + " (mode " + java.nio.file.attribute.PosixFilePermissions.toString(p)
              + "); another user could replace the authority keys. Run: chmod go-w "
              + dir.toAbsolutePath());
    }
  }
}
