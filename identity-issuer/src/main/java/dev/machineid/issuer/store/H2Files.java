package dev.machineid.issuer.store;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;

/**
 * The files of an H2 file database ({@code jdbc:h2:file:/path/name} holds
 * {@code /path/name.mv.db} and, on errors, {@code name.trace.db}) are private to the issuer's
 * user: the directory is created 0700 and the database file 0600 before H2 opens it, and every
 * file of the database is set to 0600 once it is open. Other URLs are left alone.
 */
final class H2Files {
  private static final Set<PosixFilePermission> OWNER_RW =
      EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);

  private H2Files() {}

  /**
   * The database path of an H2 file URL, or {@code null} for any other URL (memory, TCP,
   * PostgreSQL). H2 reads {@code jdbc:h2:file:PATH} and a bare {@code jdbc:h2:PATH} as files.
   */
  static Path databasePath(String url) {
    if (!url.regionMatches(true, 0, "jdbc:h2:", 0, 8)) {
      return null;
    }
    String rest = url.substring(8);
    int semi = rest.indexOf(';');
    if (semi >= 0) {
      rest = rest.substring(0, semi);
    }
    String lower = rest.toLowerCase(Locale.ROOT);
    if (lower.startsWith("file:")) {
      rest = rest.substring(5);
    } else if (lower.matches("^[a-z0-9]{2,}:.*") && !lower.matches("^[a-z]:[\\\\/].*")) {
      return null; // mem:, tcp:, ssl:, zip:, nio…: not a plain file database
    }
    if (rest.isEmpty() || rest.startsWith("~")) {
      return rest.isEmpty() ? null : Path.of(System.getProperty("user.home") + rest.substring(1));
    }
    return Path.of(rest);
  }

  /** Creates the directory (0700) and an empty database file (0600) when they do not exist. */
  static void prepare(String url) throws IOException {
    Path db = databasePath(url);
    if (db == null) {
      return;
    }
    Path dir = db.toAbsolutePath().getParent();
    boolean posix = posix(dir.getRoot());
    if (!Files.isDirectory(dir)) {
      if (posix) {
        Files.createDirectories(
            dir,
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
      } else {
        Files.createDirectories(dir);
      }
    }
    Path file = dir.resolve(db.getFileName() + ".mv.db");
    if (posix && !Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
      try {
        Files.createFile(file, PosixFilePermissions.asFileAttribute(OWNER_RW));
      } catch (java.nio.file.FileAlreadyExistsException e) {
        // another replica sharing this file created it meanwhile: restrict() sets its mode once
        // open
      }
    }
  }

  /** Sets every file of the database ({@code name.*.db}) to 0600. */
  static void restrict(String url) throws IOException {
    Path db = databasePath(url);
    if (db == null) {
      return;
    }
    Path dir = db.toAbsolutePath().getParent();
    if (!Files.isDirectory(dir) || !posix(dir)) {
      return;
    }
    String prefix = db.getFileName() + ".";
    try (DirectoryStream<Path> files = Files.newDirectoryStream(
        dir,
        f -> f.getFileName().toString().startsWith(prefix)
            && f.getFileName().toString().endsWith(".db"))) {
      for (Path f : files) {
        if (Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)) {
          Files.setPosixFilePermissions(f, OWNER_RW);
        }
      }
    }
  }

  private static boolean posix(Path p) {
    return p != null && Files.getFileAttributeView(p, PosixFileAttributeView.class) != null;
  }
}
