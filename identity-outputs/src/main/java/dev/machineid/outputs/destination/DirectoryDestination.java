package dev.machineid.outputs.destination;

import dev.machineid.core.IdentityException;
import dev.machineid.core.output.Destination;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
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
  private static final DateTimeFormatter VERSION = DateTimeFormatter.ofPattern("'..'yyyy_MM_dd_HH_mm_ss.nnnnnnnnn");
  private static final Set<PosixFilePermission> SECRET = PosixFilePermissions.fromString("rw-------");
  private static final Set<PosixFilePermission> PUBLIC = PosixFilePermissions.fromString("rw-r--r--");

  private final Path path;
  private final String readerUser;
  private final String readerGroup;
  private final Clock clock;
  private final List<Path> toolSearchPath;
  private Boolean acl; // resolved on first use, under this
  private Path setfacl;

  private DirectoryDestination(Builder b) {
    this.path = b.path.toAbsolutePath().normalize();
    this.readerUser = b.readerUser;
    this.readerGroup = b.readerGroup;
    this.clock = b.clock != null ? b.clock : Clock.systemUTC();
    this.toolSearchPath = b.toolSearchPath;
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
    return name.endsWith(".pub") || name.endsWith(".crt") || name.endsWith(".cas") || name.equals("tlscert")
        || name.equals("tlscacerts") || name.equals("ssh_config") || name.equals("known_hosts")
        || name.equals("svid.pem") || name.equals("bundle.pem");
  }

  @Override
  public synchronized void write(Map<String, byte[]> files) {
    Objects.requireNonNull(files, "files");
    for (String name : files.keySet()) {
      if (name.isEmpty() || name.contains("/") || name.startsWith("..") || name.equals(".")) {
        throw new IllegalArgumentException("bad file name '" + name + "'");
      }
    }
    try {
      ensureSafe(true);
      Path version = newVersionDirectory();
      try {
        for (Map.Entry<String, byte[]> e : files.entrySet()) {
          writeFile(version.resolve(e.getKey()), e.getValue(), isPublic(e.getKey()) ? PUBLIC : SECRET);
        }
        List<Path> readable = new ArrayList<>(List.of(path, version));
        files.keySet().forEach(n -> readable.add(version.resolve(n)));
        grantReaders(readable);
        fsync(version);
      } catch (IOException | RuntimeException e) {
        try {
          deleteVersion(version); // ..data still points at the previous version: nothing visible changed
        } catch (IOException cleanup) {
          e.addSuppressed(cleanup);
        }
        throw e;
      }
      // swap ..data in one rename(2)
      Path tmp = path.resolve(DATA_TMP);
      Files.deleteIfExists(tmp);
      Files.createSymbolicLink(tmp, version.getFileName());
      Path previous = Files.isSymbolicLink(path.resolve(DATA)) ? Files.readSymbolicLink(path.resolve(DATA)) : null;
      Files.move(tmp, path.resolve(DATA), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      linkVisibleFiles(files.keySet());
      fsync(path);
      removeOldVersions(version.getFileName().toString(), previous == null ? null : previous.getFileName().toString());
    } catch (IOException e) {
      throw new IdentityException("cannot write destination " + path + ": " + e, e);
    }
  }

  @Override
  public Map<String, byte[]> read() {
    Path data = path.resolve(DATA);
    if (!Files.isSymbolicLink(data)) {
      return Map.of();
    }
    try {
      Path version = path.resolve(Files.readSymbolicLink(data));
      Map<String, byte[]> out = new TreeMap<>();
      try (DirectoryStream<Path> ds = Files.newDirectoryStream(version)) {
        for (Path p : ds) {
          if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
            out.put(p.getFileName().toString(), Files.readAllBytes(p));
          }
        }
      }
      return Collections.unmodifiableMap(out);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read destination " + path, e);
    }
  }

  /**
   * Creates the directory if missing (0700, or 0750 with a reader group) and checks it is safe;
   * what the agent's {@code init} runs.
   *
   * @throws UnsafeDestinationException if the path is a symbolic link, not a directory, or world-writable
   */
  public void init() {
    try {
      ensureSafe(true);
      grantReaders(List.of(path));
    } catch (IOException e) {
      throw new IdentityException("cannot create destination " + path + ": " + e, e);
    }
  }

  private void ensureSafe(boolean create) throws IOException {
    if (Files.isSymbolicLink(path)) {
      throw new UnsafeDestinationException(path, "is a symbolic link (to " + Files.readSymbolicLink(path)
          + "); refusing to write keys through it. Point the destination at the real directory.");
    }
    if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
      if (!create) {
        return;
      }
      Files.createDirectories(path.getParent());
      Files.createDirectory(path, PosixFilePermissions.asFileAttribute(directoryPermissions()));
      Files.setPosixFilePermissions(path, directoryPermissions()); // umask may have cut bits
      LOG.info("created destination directory {}", path);
    }
    if (!Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) {
      throw new UnsafeDestinationException(path, "is not a directory");
    }
    Set<PosixFilePermission> perms = Files.getPosixFilePermissions(path, LinkOption.NOFOLLOW_LINKS);
    if (perms.contains(PosixFilePermission.OTHERS_WRITE)) {
      throw new UnsafeDestinationException(path, "is world-writable (" + PosixFilePermissions.toString(perms)
          + "); anyone could replace the files. Run chmod o-w on it, or use a directory only this user writes.");
    }
  }

  private Set<PosixFilePermission> directoryPermissions() {
    return PosixFilePermissions.fromString(readerGroup != null && !aclAvailable() ? "rwxr-x---" : "rwx------");
  }

  private Path newVersionDirectory() throws IOException {
    String base = LocalDateTime.now(clock.withZone(ZoneOffset.UTC)).format(VERSION);
    for (int i = 0; ; i++) {
      Path dir = path.resolve(i == 0 ? base : base + "_" + i);
      try {
        Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(directoryPermissions()));
        Files.setPosixFilePermissions(dir, directoryPermissions());
        if (readerGroup != null && !aclAvailable()) {
          chgrp(dir);
        }
        return dir;
      } catch (FileAlreadyExistsException e) {
        // same clock reading as the last write: take the next suffix
      }
    }
  }

  private void writeFile(Path file, byte[] content, Set<PosixFilePermission> perms) throws IOException {
    Set<PosixFilePermission> mode = perms;
    if (perms == SECRET && readerGroup != null && !aclAvailable()) {
      mode = PosixFilePermissions.fromString("rw-r-----");
    }
    try (FileChannel ch = FileChannel.open(file, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
        PosixFilePermissions.asFileAttribute(SECRET))) {
      ByteBuffer buf = ByteBuffer.wrap(content);
      while (buf.hasRemaining()) {
        ch.write(buf);
      }
      ch.force(true);
    }
    Files.setPosixFilePermissions(file, mode);
    if (readerGroup != null && !aclAvailable()) {
      chgrp(file);
    }
  }

  private void linkVisibleFiles(Set<String> names) throws IOException {
    for (String name : names) {
      Path link = path.resolve(name);
      Path target = Path.of(DATA, name);
      if (Files.isSymbolicLink(link) && Files.readSymbolicLink(link).equals(target)) {
        continue;
      }
      Path tmp = path.resolve(".." + name + ".tmp");
      Files.deleteIfExists(tmp);
      Files.createSymbolicLink(tmp, target);
      Files.move(tmp, link, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }
    // links to files the output no longer writes
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(path)) {
      for (Path p : ds) {
        String n = p.getFileName().toString();
        if (!n.startsWith("..") && !names.contains(n) && Files.isSymbolicLink(p)
            && Files.readSymbolicLink(p).startsWith(DATA)) {
          Files.delete(p);
        }
      }
    }
  }

  private void removeOldVersions(String current, String previous) throws IOException {
    List<Path> old = new ArrayList<>();
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(path, "..[0-9]*")) {
      for (Path p : ds) {
        String n = p.getFileName().toString();
        if (!n.equals(current) && !n.equals(previous) && Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
          old.add(p);
        }
      }
    }
    for (Path dir : old) {
      deleteVersion(dir);
    }
  }

  private static void deleteVersion(Path dir) throws IOException {
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
      for (Path f : ds) {
        Files.deleteIfExists(f);
      }
    }
    Files.deleteIfExists(dir);
  }

  private static void fsync(Path dir) {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException | UnsupportedOperationException e) {
      // not every file system syncs directories; the rename is still atomic
    }
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
        LOG.warn("setfacl not found in {} (Debian package 'acl'): destination {} grants {}{}", dirs, path,
            readerGroup != null ? "group " + readerGroup + " read access through group ownership and permissions "
                + "(keys 0640, directories 0750) instead of ACLs" : "no reader access",
            readerUser != null ? "; reader_user " + readerUser + " gets NO access without ACLs" : "");
      }
    }
    return acl;
  }

  /** The absolute directories of {@code PATH} (relative ones are skipped: a tool is never run from the working directory). */
  static List<Path> pathFromEnvironment() {
    List<Path> dirs = new ArrayList<>();
    for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(File.pathSeparator)) {
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
   * Lets the readers read {@code targets} (directories and files) with one {@code setfacl} run:
   * {@code rX} gives {@code r-x} on directories and {@code r} on files (which are never executable).
   * Without ACLs, the destination directory is given the reader group and group {@code r-x}; version
   * directories and files got theirs when created.
   */
  private void grantReaders(List<Path> targets) throws IOException {
    if (readerUser == null && readerGroup == null) {
      return;
    }
    if (aclAvailable()) {
      List<String> entries = new ArrayList<>();
      if (readerUser != null) {
        entries.add("u:" + readerUser + ":rX");
      }
      if (readerGroup != null) {
        entries.add("g:" + readerGroup + ":rX");
      }
      List<String> cmd = new ArrayList<>(List.of(setfacl.toString(), "-m", String.join(",", entries)));
      targets.forEach(t -> cmd.add(t.toString()));
      run(cmd);
    } else if (readerGroup != null) {
      chgrp(path);
      Set<PosixFilePermission> perms = new HashSet<>(Files.getPosixFilePermissions(path, LinkOption.NOFOLLOW_LINKS));
      if (perms.add(PosixFilePermission.GROUP_READ) | perms.add(PosixFilePermission.GROUP_EXECUTE)) {
        Files.setPosixFilePermissions(path, perms);
      }
    }
  }

  private void chgrp(Path p) throws IOException {
    GroupPrincipal g = p.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByGroupName(readerGroup);
    Files.getFileAttributeView(p, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS).setGroup(g);
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
        throw new IllegalArgumentException("destination.reader_user: cannot look up '" + readerUser + "': " + e, e);
      }
      try {
        if (readerGroup != null) {
          users.lookupPrincipalByGroupName(readerGroup);
        }
      } catch (UserPrincipalNotFoundException e) {
        throw new IllegalArgumentException("destination.reader_group: no group named '" + readerGroup
            + "' on this machine; create it first or name an existing one");
      } catch (IOException e) {
        throw new IllegalArgumentException("destination.reader_group: cannot look up '" + readerGroup + "': " + e, e);
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
    private static final Set<String> KEYS = Set.of("type", "path", "reader_user", "reader_group");

    /** For ServiceLoader. */
    public Provider() {}

    @Override
    public String type() {
      return TYPE;
    }

    @Override
    public Destination create(Map<String, Object> settings) {
      for (String k : settings.keySet()) {
        if (!KEYS.contains(k)) {
          throw new IllegalArgumentException("destination." + k + ": unknown setting; a directory destination takes "
              + new java.util.TreeSet<>(KEYS));
        }
      }
      Object p = settings.get("path");
      if (p == null || p.toString().isBlank()) {
        throw new IllegalArgumentException("destination.path: missing");
      }
      Builder b = builder(Path.of(p.toString()));
      if (settings.get("reader_user") != null) {
        b.readerUser(settings.get("reader_user").toString());
      }
      if (settings.get("reader_group") != null) {
        b.readerGroup(settings.get("reader_group").toString());
      }
      return b.build();
    }
  }
}
