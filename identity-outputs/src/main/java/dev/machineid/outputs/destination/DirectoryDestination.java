package dev.machineid.outputs.destination;

import dev.machineid.core.IdentityException;
import dev.machineid.core.output.Destination;
import dev.machineid.core.storage.SafeDirectory;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.nio.file.attribute.UserPrincipalNotFoundException;
import java.time.Clock;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes an output's files into a directory that is updated as a whole, as Kubernetes does for
 * projected volumes: every write goes to a new versioned sub-directory ({@code ..2026_11_22_03_40_12.123456789}),
 * then the {@code ..data} symlink is swapped to it with one {@code rename(2)}, and each visible file
 * is a link {@code name -> ..data/name}. A reader that resolves {@code ..data} once sees one whole
 * issuance. The previous version is kept (a reader may still hold it); older ones are removed.
 *
 * <p>Keys and other secrets are 0600, certificates and configs 0644, version directories 0700 (0750
 * with a reader group). A destination that is a symbolic link, not a directory, or world-writable
 * is refused with {@link UnsafeDestinationException}. {@code reader_user} / {@code reader_group} are
 * granted read access through POSIX ACLs ({@code setfacl}, Debian package {@code acl}, looked up in
 * the directories of {@code PATH} or of {@link Builder#toolSearchPath}): {@code r} on the files,
 * {@code r-x} on the destination and version directories, in one {@code setfacl} run per write.
 * Without {@code setfacl} a reader group gets group ownership and permissions instead (keys 0640,
 * directories 0750), with a warning; a reader user then gets no access (also warned).
 */
public final class DirectoryDestination implements Destination {
  public static final String TYPE = "directory";
  /** The link every visible file goes through. */
  public static final String DATA = "..data";

  private static final String DATA_TMP = "..data_tmp";
  private static final Logger LOG = LoggerFactory.getLogger(DirectoryDestination.class);
  private static final DateTimeFormatter VERSION =
      DateTimeFormatter.ofPattern("'..'yyyy_MM_dd_HH_mm_ss.nnnnnnnnn");
  private static final Set<PosixFilePermission> SECRET =
      PosixFilePermissions.fromString("rw-------");
  private static final Set<PosixFilePermission> PUBLIC =
      PosixFilePermissions.fromString("rw-r--r--");

  private final Path path;
  private final String readerUser;
  private final String readerGroup;
  private final Clock clock;
  private final List<Path> toolSearchPath;
  private final Hook hook;
  private Boolean acl; // resolved on first use, under this
  private Path setfacl;

  private DirectoryDestination(Builder b) {
    this.path = b.path.toAbsolutePath().normalize();
    this.readerUser = b.readerUser;
    this.readerGroup = b.readerGroup;
    this.clock = b.clock != null ? b.clock : Clock.systemUTC();
    this.toolSearchPath = b.toolSearchPath;
    this.hook = b.hook != null ? b.hook : (point, p) -> {};
  }

  /** Test seam: the points of a write where a test plays a second actor (swaps in a symbolic link). */
  enum Point {
    VERSION_CREATED,
    FILE_CREATED,
    REMOVING_OLD_VERSION
  }

  /** Test seam, called at each {@link Point} with the path concerned. */
  interface Hook {
    void at(Point point, Path path) throws IOException;
  }

  public static Builder builder(Path path) {
    return new Builder(Objects.requireNonNull(path, "path"));
  }

  /** A destination at {@code path} with no reader. */
  public static DirectoryDestination of(Path path) {
    return builder(path).build();
  }

  /** The destination directory (absolute). Files are at {@code path().resolve(name)}. */
  public Path path() {
    return path;
  }

  /** True for names whose content is not secret (certificates, CA files, SSH configs); everything else is 0600. */
  public static boolean isPublic(String name) {
    return name.endsWith(".pub")
        || name.endsWith(".crt")
        || name.endsWith(".cas")
        || name.equals("tlscert")
        || name.equals("tlscacerts")
        || name.equals("ssh_config")
        || name.equals("known_hosts")
        || name.equals("svid.pem")
        || name.equals("bundle.pem");
  }

  @Override
  public synchronized void write(Map<String, byte[]> files) {
    Objects.requireNonNull(files, "files");
    for (String name : files.keySet()) {
      if (name.isEmpty()
          || name.contains("/")
          || name.startsWith("..")
          || name.equals(".")
          || name.indexOf('\0') >= 0) {
        throw new IllegalArgumentException("bad file name '" + name + "'");
      }
    }
    try (SafeDirectory dir = open(true)) {
      grantReaders(dir);
      String version;
      try (SafeDirectory v = newVersionDirectory(dir)) {
        version = v.path().getFileName().toString();
        try {
          hook.at(Point.VERSION_CREATED, v.path());
          for (Map.Entry<String, byte[]> e : files.entrySet()) {
            writeFile(v, e.getKey(), e.getValue(), isPublic(e.getKey()));
          }
          // nothing in the new version may have been replaced meanwhile (by a link, say)
          for (String name : files.keySet()) {
            PosixFileAttributes a = v.attributes(name);
            if (a == null || !a.isRegularFile()) {
              throw new IOException(
                  v.path().resolve(name) + " was replaced while it was being written");
            }
          }
          if (!v.stillAtPath()) {
            throw new IOException(v.path() + " was replaced while it was being written");
          }
          v.sync();
        } catch (IOException | RuntimeException e) {
          try {
            removeVersion(
                dir,
                version); // ..data still points at the previous version: nothing visible changed
          } catch (IOException cleanup) {
            e.addSuppressed(cleanup);
          }
          throw e;
        }
      }
      // swap ..data in one rename(2)
      dir.deleteFileIfExists(DATA_TMP);
      dir.createSymbolicLink(DATA_TMP, Path.of(version));
      Path previous = dir.readSymbolicLink(DATA);
      dir.rename(DATA_TMP, DATA);
      linkVisibleFiles(dir, files.keySet());
      dir.sync();
      removeOldVersions(
          dir, version, previous == null ? null : previous.getFileName().toString());
    } catch (SafeDirectory.UnsafePathException e) {
      throw new UnsafeDestinationException(path, e.getMessage());
    } catch (IOException e) {
      throw new IdentityException("cannot write destination " + path + ": " + e, e);
    }
  }

  @Override
  public Map<String, byte[]> read() {
    try (SafeDirectory dir = open(false)) {
      Path data = dir == null ? null : dir.readSymbolicLink(DATA);
      if (data == null || data.getNameCount() != 1) {
        return Map.of();
      }
      Map<String, byte[]> out = new TreeMap<>();
      try (SafeDirectory version = dir.openDirectory(data.toString())) {
        for (String name : version.list()) {
          PosixFileAttributes a = version.attributes(name);
          if (a != null && a.isRegularFile()) {
            out.put(name, version.readFile(name));
          }
        }
      }
      return Collections.unmodifiableMap(out);
    } catch (SafeDirectory.UnsafePathException e) {
      throw new UnsafeDestinationException(path, e.getMessage());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read destination " + path, e);
    }
  }

  /**
   * Walks what exists of the path by the rule {@link #write} applies, creating nothing.
   *
   * @throws UnsafeDestinationException if a component of the path is a symbolic link, not a
   *     directory, or owned or writable by another user
   */
  @Override
  public void check() {
    try {
      SafeDirectory dir = SafeDirectory.open(
          path, false, directoryPermissions()); // null if not there yet (made by the first write)
      if (dir != null) {
        dir.close();
      }
    } catch (SafeDirectory.UnsafePathException e) {
      throw new UnsafeDestinationException(path, e.getMessage());
    } catch (IOException e) {
      throw new IdentityException("cannot check destination " + path + ": " + e, e);
    }
  }

  /**
   * Creates the directory if missing (0700, or 0750 with a reader group) and checks it is safe;
   * what the agent's {@code init} runs.
   *
   * @throws UnsafeDestinationException if a component of the path is a symbolic link, not a
   *     directory, or owned or writable by another user
   */
  public void init() {
    try (SafeDirectory dir = open(true)) {
      grantReaders(dir);
    } catch (SafeDirectory.UnsafePathException e) {
      throw new UnsafeDestinationException(path, e.getMessage());
    } catch (IOException e) {
      throw new IdentityException("cannot create destination " + path + ": " + e, e);
    }
  }

  /**
   * Opens the destination through {@link SafeDirectory}: every component from {@code /} must belong
   * to root or this user and be writable by nobody else, and none may be a link.
   */
  private SafeDirectory open(boolean create) throws IOException {
    boolean existed = Files.exists(path, LinkOption.NOFOLLOW_LINKS);
    SafeDirectory dir = SafeDirectory.open(path, create, directoryPermissions());
    if (dir != null && !existed) {
      LOG.info("created destination directory {}", path);
    }
    return dir;
  }

  private Set<PosixFilePermission> directoryPermissions() {
    return PosixFilePermissions.fromString(
        readerGroup != null && !aclAvailable() ? "rwxr-x---" : "rwx------");
  }

  /** 0750 where readers are granted (by ACL the group bits are the ACL mask), else 0700. */
  private Set<PosixFilePermission> versionPermissions() {
    boolean readers = aclAvailable() || readerGroup != null;
    return PosixFilePermissions.fromString(readers ? "rwxr-x---" : "rwx------");
  }

  private SafeDirectory newVersionDirectory(SafeDirectory dir) throws IOException {
    String base = LocalDateTime.now(clock.withZone(ZoneOffset.UTC)).format(VERSION);
    for (int i = 0; ; i++) {
      try {
        SafeDirectory v = dir.createDirectory(i == 0 ? base : base + "_" + i, versionPermissions());
        if (readerGroup != null && !aclAvailable()) {
          v.setGroup(group()); // fchown on the opened directory
        }
        return v;
      } catch (FileAlreadyExistsException e) {
        // same clock reading as the last write: take the next suffix
      }
    }
  }

  /** Creates the file with its final mode (and, with ACL readers, the entries it inherits), never by path. */
  private void writeFile(SafeDirectory version, String name, byte[] content, boolean isPublic)
      throws IOException {
    Set<PosixFilePermission> mode = isPublic ? PUBLIC : SECRET;
    if (!isPublic && (aclAvailable() || readerGroup != null)) {
      // with ACLs the group bits are the mask: r-- lets the named readers read; the owning group's
      // own entry is --- (set as the destination's default), so only the readers gain
      mode = PosixFilePermissions.fromString("rw-r-----");
    }
    version.writeNewFile(name, content, mode);
    if (readerGroup != null && !aclAvailable()) {
      version.setGroup(name, group()); // fchown through openat(O_NOFOLLOW)
    }
    hook.at(Point.FILE_CREATED, version.path().resolve(name));
  }

  private void linkVisibleFiles(SafeDirectory dir, Set<String> names) throws IOException {
    for (String name : names) {
      Path target = Path.of(DATA, name);
      if (target.equals(dir.readSymbolicLink(name))) {
        continue;
      }
      String tmp = ".." + name + ".tmp";
      dir.deleteFileIfExists(tmp);
      dir.createSymbolicLink(tmp, target);
      dir.rename(tmp, name);
    }
    // links to files the output no longer writes
    for (String n : dir.list()) {
      if (!n.startsWith("..") && !names.contains(n)) {
        Path target = dir.readSymbolicLink(n);
        if (target != null && target.startsWith(DATA)) {
          dir.deleteFile(n);
        }
      }
    }
  }

  private void removeOldVersions(SafeDirectory dir, String current, String previous)
      throws IOException {
    List<String> old = new ArrayList<>();
    for (String n : dir.list()) {
      if (n.matches("\\.\\.[0-9].*") && !n.equals(current) && !n.equals(previous)) {
        PosixFileAttributes a = dir.attributes(n);
        if (a != null && a.isDirectory()) {
          old.add(n);
        }
      }
    }
    for (String n : old) {
      hook.at(Point.REMOVING_OLD_VERSION, dir.path().resolve(n));
      try {
        removeVersion(dir, n);
      } catch (SafeDirectory.UnsafePathException e) {
        LOG.warn("destination {}: old version {} left in place: {}", path, n, e.getMessage());
      }
    }
  }

  /** Removes a version directory and its files relative to the opened destination, following no link. */
  private static void removeVersion(SafeDirectory dir, String name) throws IOException {
    PosixFileAttributes a = dir.attributes(name);
    if (a == null) {
      return;
    }
    try (SafeDirectory v = dir.openDirectory(name)) {
      for (String f : v.list()) {
        v.deleteFile(f); // unlinkat: a link is removed, never followed
      }
    }
    dir.deleteDirectory(name);
  }

  // ---------------------------------------------------------------- readers

  /** True if readers are granted through ACLs: there is a reader and {@code setfacl} was found (looked up once). */
  private synchronized boolean aclAvailable() {
    if (readerUser == null && readerGroup == null) {
      return false;
    }
    if (acl == null) {
      List<Path> dirs = toolSearchPath != null ? toolSearchPath : pathFromEnvironment();
      setfacl = find("setfacl", dirs);
      acl = setfacl != null;
      if (setfacl == null) {
        LOG.warn(
            "setfacl not found in {} (Debian package 'acl'): destination {} grants {}{}",
            dirs,
            path,
            readerGroup != null
                ? "group " + readerGroup + " read access through group ownership and permissions "
                    + "(keys 0640, directories 0750) instead of ACLs"
                : "no reader access",
            readerUser != null
                ? "; reader_user " + readerUser + " gets NO access without ACLs"
                : "");
      }
    }
    return acl;
  }

  /** The absolute directories of {@code PATH} (relative ones are skipped: a tool is never run from the working directory). */
  static List<Path> pathFromEnvironment() {
    List<Path> dirs = new ArrayList<>();
    for (String dir :
        System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(File.pathSeparator)) {
      if (!dir.isEmpty() && Path.of(dir).isAbsolute()) {
        dirs.add(Path.of(dir));
      }
    }
    return dirs;
  }

  private static Path find(String tool, List<Path> dirs) {
    for (Path dir : dirs) {
      Path p = dir.resolve(tool);
      if (Files.isRegularFile(p) && Files.isExecutable(p)) {
        return p;
      }
    }
    return null;
  }

  /**
   * Lets the readers into the destination. With {@code setfacl}: one run of {@code setfacl -P --set}
   * on the destination directory (checked to still be the one opened; {@code -P} skips a link)
   * replacing its whole ACL, access and default, with the owner, the readers at {@code r-x} and the
   * owning group and others at {@code ---}: any other entry on it is removed, so no foreign entry
   * is activated by the mask the readers need. New version directories and files inherit those entries when they are
   * created, so no ACL is ever set on a file by path. Without ACLs, the destination directory gets
   * the reader group and group {@code r-x} through its descriptor; version directories and files get
   * theirs when created.
   */
  private void grantReaders(SafeDirectory dir) throws IOException {
    if (readerUser == null && readerGroup == null) {
      return;
    }
    if (aclAvailable()) {
      // the whole ACL, access and default, replaced in one run (--set): an entry someone else put
      // on the directory beforehand (masked, or inherited from the parent's default ACL) is
      // removed,
      // never activated by a recalculated mask
      List<String> entries = new ArrayList<>(List.of(
          "u::rwx", "g::---", "o::---", "m::r-x", "d:u::rwx", "d:g::---", "d:o::---", "d:m::r-x"));
      if (readerUser != null) {
        entries.add("u:" + readerUser + ":r-x");
        entries.add("d:u:" + readerUser + ":r-x");
      }
      if (readerGroup != null) {
        entries.add("g:" + readerGroup + ":r-x");
        entries.add("d:g:" + readerGroup + ":r-x");
      }
      if (!dir.stillAtPath()) {
        throw new UnsafeDestinationException(
            path, "was moved or replaced while it was being written");
      }
      run(List.of(setfacl.toString(), "-P", "--set", String.join(",", entries), path.toString()));
    } else if (readerGroup != null) {
      dir.setGroup(group());
      Set<PosixFilePermission> perms = new HashSet<>(dir.attributes().permissions());
      if (perms.add(PosixFilePermission.GROUP_READ)
          | perms.add(PosixFilePermission.GROUP_EXECUTE)) {
        dir.setMode(perms);
      }
    }
  }

  private GroupPrincipal group() throws IOException {
    return path.getFileSystem()
        .getUserPrincipalLookupService()
        .lookupPrincipalByGroupName(readerGroup);
  }

  private static void run(List<String> cmd) throws IOException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    try {
      String out = new String(p.getInputStream().readAllBytes());
      if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new IOException(String.join(" ", cmd) + " failed: " + out.strip());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted running " + cmd.get(0), e);
    }
  }

  @Override
  public String toString() {
    return TYPE + ":" + path;
  }

  /** Builds a {@link DirectoryDestination}; fails fast on a repeated setting. */
  public static final class Builder {
    private final Path path;
    private String readerUser;
    private String readerGroup;
    private Clock clock;
    private List<Path> toolSearchPath;
    private Hook hook;

    private Builder(Path path) {
      this.path = path;
    }

    /** A user granted read access through a POSIX ACL. */
    public Builder readerUser(String user) {
      if (readerUser != null) {
        throw new IllegalStateException("reader_user is already set");
      }
      readerUser = nonBlank(user, "destination.reader_user");
      return this;
    }

    /** A group granted read access (ACL, or group ownership and permissions without setfacl). */
    public Builder readerGroup(String group) {
      if (readerGroup != null) {
        throw new IllegalStateException("reader_group is already set");
      }
      readerGroup = nonBlank(group, "destination.reader_group");
      return this;
    }

    /** Names the version directories; the system UTC clock by default. */
    public Builder clock(Clock clock) {
      if (this.clock != null) {
        throw new IllegalStateException("clock is already set");
      }
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /**
     * The directories searched, in order, for {@code setfacl}; by default the absolute directories
     * of the {@code PATH} environment variable. Without {@code setfacl} in them, readers get group
     * permissions instead of ACLs (see the class comment).
     */
    public Builder toolSearchPath(List<Path> directories) {
      if (toolSearchPath != null) {
        throw new IllegalStateException("toolSearchPath is already set");
      }
      Objects.requireNonNull(directories, "directories");
      for (Path d : directories) {
        if (!Objects.requireNonNull(d, "a tool directory").isAbsolute()) {
          throw new IllegalArgumentException("tool directory '" + d + "' is not absolute");
        }
      }
      toolSearchPath = List.copyOf(directories);
      return this;
    }

    /** Test seam: called at known points of every write. */
    Builder hook(Hook hook) {
      this.hook = Objects.requireNonNull(hook, "hook");
      return this;
    }

    /**
     * @throws IllegalArgumentException if the reader user or group does not exist on this machine
     */
    public DirectoryDestination build() {
      UserPrincipalLookupService users = path.getFileSystem().getUserPrincipalLookupService();
      try {
        if (readerUser != null) {
          users.lookupPrincipalByName(readerUser);
        }
      } catch (UserPrincipalNotFoundException e) {
        throw new IllegalArgumentException("destination.reader_user: no user named '" + readerUser
            + "' on this machine; create it first or name an existing one");
      } catch (IOException e) {
        throw new IllegalArgumentException(
            "destination.reader_user: cannot look up '" + readerUser + "': " + e, e);
      }
      try {
        if (readerGroup != null) {
          users.lookupPrincipalByGroupName(readerGroup);
        }
      } catch (UserPrincipalNotFoundException e) {
        throw new IllegalArgumentException("destination.reader_group: no group named '"
            + readerGroup + "' on this machine; create it first or name an existing one");
      } catch (IOException e) {
        throw new IllegalArgumentException(
            "destination.reader_group: cannot look up '" + readerGroup + "': " + e, e);
      }
      return new DirectoryDestination(this);
    }

    private static String nonBlank(String v, String key) {
      Objects.requireNonNull(v, key);
      if (v.isBlank() || v.contains(",") || v.contains(":")) {
        throw new IllegalArgumentException(key + ": bad name '" + v + "'");
      }
      return v;
    }
  }

  /** ServiceLoader provider for {@code type: directory} ({@code path}, optional {@code reader_user}, {@code reader_group}). */
  public static final class Provider implements dev.machineid.core.output.DestinationProvider {
    /** For ServiceLoader. */
    public Provider() {}

    @Override
    public String type() {
      return TYPE;
    }

    @Override
    public Destination create(dev.machineid.core.config.Settings settings) {
      settings.declare("type");
      Builder b = builder(Path.of(settings.string("path")));
      settings.optionalString("reader_user").ifPresent(b::readerUser);
      settings.optionalString("reader_group").ifPresent(b::readerGroup);
      return b.build();
    }
  }
}
