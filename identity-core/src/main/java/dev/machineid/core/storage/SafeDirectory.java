package dev.machineid.core.storage;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * A directory opened for writing secrets without following links and without trusting a path that
 * another user can change: the file directory storage and the file destinations write through it.
 *
 * <p>{@link #open} walks from {@code /} to the directory one component at a time, each opened
 * relative to the one before with {@code O_NOFOLLOW} (the JDK's {@link SecureDirectoryStream}), and
 * checks every opened component: not a symbolic link, owned by root or by this process's user, and
 * writable by nobody else (no group or other write bit). The one exception, as OpenSSH's
 * {@code StrictModes} allows, is an <em>ancestor</em> that is root-owned and sticky, such as
 * {@code /tmp} (mode 1777): others may add names to it but cannot rename or remove the ones they do
 * not own. The directory itself must never be writable by others.
 *
 * <p>Afterwards, files are created, renamed and removed relative to the opened directory
 * ({@code openat}, {@code renameat}, {@code unlinkat}), files are created with their final mode
 * ({@code O_CREAT|O_EXCL|O_NOFOLLOW} with the mode, never a {@code chmod} by path), and a mode the
 * umask cut is restored through the opened file ({@code fchmod}). The JDK has no
 * {@code mkdirat}/{@code symlinkat}: those two go by path, into this directory only, whose whole path
 * was checked, and neither follows a link at its last component; the new directory is then opened
 * relative to this one without following links and checked again.
 */
public final class SafeDirectory implements Closeable {
  private static final LinkOption[] NOFOLLOW = {LinkOption.NOFOLLOW_LINKS};
  private static final Set<PosixFilePermission> WRITE_BY_OTHERS =
      EnumSet.of(PosixFilePermission.GROUP_WRITE, PosixFilePermission.OTHERS_WRITE);
  private static final Set<PosixFilePermission> PARENT_MODE =
      PosixFilePermissions.fromString("rwxr-xr-x");
  private static final int STICKY = 01000;

  private final Path path;
  private final SecureDirectoryStream<Path> dir;
  private final Object key;

  private SafeDirectory(Path path, SecureDirectoryStream<Path> dir, Object key) {
    this.path = path;
    this.dir = dir;
    this.key = key;
  }

  /**
   * Why a directory is refused: a component of its path is a symbolic link, not a directory, owned
   * by another user, or writable by another user. {@link #path()} names the component.
   */
  public static final class UnsafePathException extends IOException {
    private static final long serialVersionUID = 1L;
    private final transient Path path;

    UnsafePathException(Path path, String message) {
      super(message);
      this.path = path;
    }

    /** The offending component. */
    public Path path() {
      return path;
    }
  }

  /**
   * Opens {@code directory} after checking every component of its absolute path.
   *
   * @param create whether to create missing components: parents 0755, the directory itself with {@code mode}
   * @param mode the directory's mode when it is created (restored if the umask cut it)
   * @return the opened directory, or {@code null} if it is missing and {@code create} is false
   * @throws UnsafePathException if a component may be changed by another user, or is a link
   * @throws IOException for an I/O failure (including a platform without descriptor-relative operations)
   */
  public static SafeDirectory open(Path directory, boolean create, Set<PosixFilePermission> mode)
      throws IOException {
    return open(directory, create, mode, false);
  }

  /**
   * Opens {@code directory} as the parent of one to be made in it, checked by the rule applied to
   * every ancestor in {@link #open}: a root-owned sticky directory such as {@code /tmp} is accepted.
   * Missing components are created 0755 if {@code create}.
   *
   * @return the opened directory, or {@code null} if it is missing and {@code create} is false
   */
  public static SafeDirectory openParent(Path directory, boolean create) throws IOException {
    return open(directory, create, PARENT_MODE, true);
  }

  private static SafeDirectory open(
      Path directory, boolean create, Set<PosixFilePermission> mode, boolean asAncestor)
      throws IOException {
    Path target =
        Objects.requireNonNull(directory, "directory").toAbsolutePath().normalize();
    Objects.requireNonNull(mode, "mode");
    Path root = target.getRoot();
    DirectoryStream<Path> rootStream = Files.newDirectoryStream(root);
    if (!(rootStream instanceof SecureDirectoryStream<Path> sds)) {
      rootStream.close();
      throw new IOException(
          "this platform offers no descriptor-relative file operations (SecureDirectoryStream); "
              + "refusing to write secrets by path");
    }
    Set<UserPrincipal> trusted = trustedOwners(root);
    SafeDirectory current = new SafeDirectory(root, sds, null);
    try {
      current =
          current.withKey(check(current, root, trusted, target.getNameCount() == 0 && !asAncestor));
      for (int i = 0; i < target.getNameCount(); i++) {
        boolean last = i == target.getNameCount() - 1;
        String name = target.getName(i).toString();
        Path p = current.path.resolve(name);
        SecureDirectoryStream<Path> next;
        try {
          next = current.openChild(name, p);
        } catch (NoSuchFileException missing) {
          if (!create) {
            current.close();
            return null;
          }
          try {
            Files.createDirectory(
                p, PosixFilePermissions.asFileAttribute(last ? mode : PARENT_MODE));
          } catch (FileAlreadyExistsException raced) {
            // made by someone else meanwhile: opened and checked below like any other
          }
          next = current.openChild(name, p);
          if (last) {
            restoreMode(next, mode);
          }
        }
        SafeDirectory child = new SafeDirectory(p, next, null);
        current.close();
        current = child;
        current = current.withKey(check(current, p, trusted, last && !asAncestor));
      }
      return current;
    } catch (IOException | RuntimeException e) {
      current.close();
      throw e;
    }
  }

  private SafeDirectory withKey(Object key) {
    return new SafeDirectory(path, dir, key);
  }

  private SecureDirectoryStream<Path> openChild(String name, Path p) throws IOException {
    PosixFileAttributes a = dir.getFileAttributeView(
            Path.of(name), PosixFileAttributeView.class, NOFOLLOW)
        .readAttributes();
    if (a.isSymbolicLink()) {
      throw new UnsafePathException(
          p,
          p + " is a symbolic link (to " + readLinkQuietly(p) + "); refusing to go "
              + "through it, since it can be pointed elsewhere. Name the real path");
    }
    if (!a.isDirectory()) {
      throw new UnsafePathException(p, p + " is not a directory");
    }
    try {
      return dir.newDirectoryStream(Path.of(name), NOFOLLOW);
    } catch (NotDirectoryException e) {
      throw new UnsafePathException(p, p + " is not a directory");
    } catch (NoSuchFileException e) {
      throw e;
    } catch (FileSystemException e) {
      // ELOOP: it was swapped for a link after the check above
      throw new UnsafePathException(
          p, p + " became a symbolic link while it was opened; refusing to go through it");
    }
  }

  private static String readLinkQuietly(Path p) {
    try {
      return Files.readSymbolicLink(p).toString();
    } catch (IOException | UnsupportedOperationException e) {
      return "?";
    }
  }

  /** Checks the opened directory itself (fstat): owner, write bits; returns its file key. */
  private static Object check(SafeDirectory d, Path p, Set<UserPrincipal> trusted, boolean last)
      throws IOException {
    PosixFileAttributes a =
        d.dir.getFileAttributeView(PosixFileAttributeView.class).readAttributes();
    if (!trusted.contains(a.owner())) {
      throw new UnsafePathException(
          p,
          p + " is owned by " + a.owner().getName() + ", not by " + trustedNames()
              + " (the user writing here); that user could replace what is written. chown it, or choose a "
              + "directory whose every parent belongs to " + trustedNames());
    }
    Set<PosixFilePermission> writable = EnumSet.noneOf(PosixFilePermission.class);
    writable.addAll(a.permissions());
    writable.retainAll(WRITE_BY_OTHERS);
    if (!writable.isEmpty()) {
      boolean rootOwnedSticky =
          !last && a.owner().getName().equals("root") && sticky(p, a.fileKey());
      if (!rootOwnedSticky) {
        String who = writable.contains(PosixFilePermission.OTHERS_WRITE)
            ? "world-writable"
            : "group-writable";
        throw new UnsafePathException(
            p,
            p + " is " + who + " (" + PosixFilePermissions.toString(a.permissions())
                + "); another user could replace what is written" + (last ? "" : " below it")
                + ". Run chmod go-w on it, "
                + "or choose a directory only " + trustedNames() + " can write");
      }
    }
    return a.fileKey();
  }

  /** The sticky bit, read by path (lstat) and trusted only if it is still the directory that was opened. */
  private static boolean sticky(Path p, Object key) {
    try {
      Object mode = Files.getAttribute(p, "unix:mode", NOFOLLOW);
      Object inode =
          Files.readAttributes(p, PosixFileAttributes.class, NOFOLLOW).fileKey();
      return mode instanceof Integer m && (m & STICKY) != 0 && Objects.equals(inode, key);
    } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
      return false;
    }
  }

  private static Set<UserPrincipal> trustedOwners(Path root) throws IOException {
    var users = root.getFileSystem().getUserPrincipalLookupService();
    UserPrincipal self;
    try {
      self = users.lookupPrincipalByName(currentUser());
    } catch (java.nio.file.attribute.UserPrincipalNotFoundException e) {
      // no passwd entry for this uid (some containers): /proc/self belongs to the process's user
      self = Files.getOwner(root.resolve("proc/self"));
    }
    return new java.util.HashSet<>(
        List.of(users.lookupPrincipalByName("root"), self)); // one when running as root
  }

  private static String currentUser() {
    return System.getProperty("user.name");
  }

  /** "root", or "root or USER" when this process runs as another user. */
  private static String trustedNames() {
    return "root".equals(currentUser()) ? "root" : "root or " + currentUser();
  }

  private static void restoreMode(SecureDirectoryStream<Path> d, Set<PosixFilePermission> mode)
      throws IOException {
    PosixFileAttributeView v = d.getFileAttributeView(PosixFileAttributeView.class);
    if (!v.readAttributes().permissions().equals(mode)) {
      v.setPermissions(mode); // fchmod on the opened descriptor
    }
  }

  /** The directory's absolute path, for messages and for the readers of what is written. */
  public Path path() {
    return path;
  }

  /** The opened directory itself, for attributes (its file key, owner, mode). */
  public PosixFileAttributes attributes() throws IOException {
    return dir.getFileAttributeView(PosixFileAttributeView.class).readAttributes();
  }

  /** Sets this directory's own mode through its descriptor ({@code fchmod}). */
  public void setMode(Set<PosixFilePermission> mode) throws IOException {
    restoreMode(dir, mode);
  }

  /** Sets the owner of this directory through its descriptor ({@code fchown}). */
  public void setOwner(UserPrincipal owner) throws IOException {
    dir.getFileAttributeView(PosixFileAttributeView.class).setOwner(owner);
  }

  /** Sets the group of this directory through its descriptor ({@code fchown}). */
  public void setGroup(java.nio.file.attribute.GroupPrincipal group) throws IOException {
    dir.getFileAttributeView(PosixFileAttributeView.class).setGroup(group);
  }

  /**
   * True if {@link #path()} still names this opened directory (same device and inode, not a link):
   * checked before anything that the JDK can only do by path.
   */
  public boolean stillAtPath() {
    try {
      return Objects.equals(
              Files.readAttributes(path, PosixFileAttributes.class, NOFOLLOW).fileKey(), key)
          && !Files.isSymbolicLink(path);
    } catch (IOException e) {
      return false;
    }
  }

  /**
   * Creates the directory {@code name} in this one (mode {@code mode}) and opens it, without
   * following links; fails if the name exists.
   */
  public SafeDirectory createDirectory(String name, Set<PosixFilePermission> mode)
      throws IOException {
    Path p = path.resolve(checkName(name));
    requireStillAtPath();
    Files.createDirectory(p, PosixFilePermissions.asFileAttribute(mode));
    SecureDirectoryStream<Path> d = openChild(name, p);
    SafeDirectory child = new SafeDirectory(p, d, null);
    try {
      restoreMode(d, mode);
      return child.withKey(child.attributes().fileKey());
    } catch (IOException | RuntimeException e) {
      child.close();
      throw e;
    }
  }

  /**
   * Opens the existing directory {@code name} in this one without following links.
   *
   * @throws UnsafePathException if it is a link or not a directory
   */
  public SafeDirectory openDirectory(String name) throws IOException {
    Path p = path.resolve(checkName(name));
    SecureDirectoryStream<Path> d = openChild(name, p);
    SafeDirectory child = new SafeDirectory(p, d, null);
    try {
      return child.withKey(child.attributes().fileKey());
    } catch (IOException | RuntimeException e) {
      child.close();
      throw e;
    }
  }

  /**
   * Creates the file {@code name} with {@code mode} ({@code O_CREAT|O_EXCL|O_NOFOLLOW}), writes
   * {@code content} and syncs it. A mode the umask cut is restored through the new file, never by path.
   */
  public void writeNewFile(String name, byte[] content, Set<PosixFilePermission> mode)
      throws IOException {
    Path n = Path.of(checkName(name));
    Set<OpenOption> options =
        Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
    FileAttribute<Set<PosixFilePermission>> attr = PosixFilePermissions.asFileAttribute(mode);
    try (SeekableByteChannel ch = dir.newByteChannel(n, options, attr)) {
      ByteBuffer buf = ByteBuffer.wrap(content);
      while (buf.hasRemaining()) {
        ch.write(buf);
      }
      if (ch instanceof java.nio.channels.FileChannel fc) {
        fc.force(true);
      }
    }
    PosixFileAttributeView v = dir.getFileAttributeView(n, PosixFileAttributeView.class, NOFOLLOW);
    if (!v.readAttributes().permissions().equals(mode)) {
      v.setPermissions(
          mode); // openat(O_NOFOLLOW) + fchmod: the file just made, never what a link points at
    }
  }

  /**
   * Checks the regular file {@code name} that holds a secret, not following a link: owned by root or
   * this process's user (the rule every component of the directory's path meets), readable and
   * writable by its owner only, and at most {@code maxBytes} long. Throws
   * {@link UnsafePathException} naming the file, what is wrong and what to do.
   */
  public void checkPrivateFile(String name, long maxBytes) throws IOException {
    Path p = path.resolve(checkName(name));
    PosixFileAttributes a = attributes(name);
    if (a == null) {
      throw new NoSuchFileException(p.toString());
    }
    if (!a.isRegularFile()) {
      throw new UnsafePathException(p, p + " is not a regular file; delete it");
    }
    Set<UserPrincipal> trusted = trustedOwners(path.getRoot());
    if (!trusted.contains(a.owner())) {
      throw new UnsafePathException(
          p,
          p + " is owned by " + a.owner().getName() + ", not by " + trustedNames()
              + ": another user may have written it. Delete it (or give it to this user with"
              + " chown if you made it yourself)");
    }
    Set<PosixFilePermission> loose = EnumSet.noneOf(PosixFilePermission.class);
    loose.addAll(a.permissions());
    loose.removeAll(EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE));
    if (!loose.isEmpty()) {
      throw new UnsafePathException(
          p,
          p + " has mode " + PosixFilePermissions.toString(a.permissions())
              + ", not rw-------: what it holds may have been read by others. Delete it to start"
              + " again with a new key (or chmod 600 it if you are sure nobody read it)");
    }
    if (a.size() > maxBytes) {
      throw new UnsafePathException(
          p,
          p + " is " + a.size() + " bytes, more than the " + maxBytes
              + " such a file can be; it is not one this library wrote. Delete it");
    }
  }

  /**
   * Reads the regular file {@code name} without following links, refusing one longer than
   * {@code maxBytes} (measured while reading, so a file that grows is refused too).
   */
  public byte[] readFile(String name, long maxBytes) throws IOException {
    Path n = Path.of(checkName(name));
    try (SeekableByteChannel ch =
        dir.newByteChannel(n, Set.of(StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS))) {
      java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
      ByteBuffer buf = ByteBuffer.allocate(8192);
      int r;
      while ((r = ch.read(buf)) >= 0) {
        if (out.size() + (long) r > maxBytes) {
          throw new UnsafePathException(
              path.resolve(name),
              path.resolve(name) + " is more than " + maxBytes
                  + " bytes, more than such a file can be; it is not one this library wrote."
                  + " Delete it");
        }
        out.write(buf.array(), 0, r);
        buf.clear();
      }
      return out.toByteArray();
    }
  }

  /** Reads the regular file {@code name} without following links. */
  public byte[] readFile(String name) throws IOException {
    Path n = Path.of(checkName(name));
    try (SeekableByteChannel ch =
        dir.newByteChannel(n, Set.of(StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS))) {
      long size = ch.size();
      if (size > Integer.MAX_VALUE - 8) {
        throw new IOException(path.resolve(name) + " is too large");
      }
      ByteBuffer buf = ByteBuffer.allocate((int) size);
      while (buf.hasRemaining() && ch.read(buf) >= 0) {
        // read it all
      }
      if (buf.hasRemaining()) {
        byte[] out = new byte[buf.position()];
        buf.flip().get(out);
        return out;
      }
      return buf.array();
    }
  }

  /** The attributes of {@code name} in this directory, not following a link; {@code null} if it is missing. */
  public PosixFileAttributes attributes(String name) throws IOException {
    try {
      return dir.getFileAttributeView(
              Path.of(checkName(name)), PosixFileAttributeView.class, NOFOLLOW)
          .readAttributes();
    } catch (NoSuchFileException e) {
      return null;
    }
  }

  /** Sets the group of {@code name} in this directory without following a link. */
  public void setGroup(String name, java.nio.file.attribute.GroupPrincipal group)
      throws IOException {
    dir.getFileAttributeView(Path.of(checkName(name)), PosixFileAttributeView.class, NOFOLLOW)
        .setGroup(group);
  }

  /** The names in this directory. */
  public List<String> list() throws IOException {
    List<String> names = new ArrayList<>();
    // a stream iterates once: list through a fresh descriptor of this same directory (openat ".")
    try (SecureDirectoryStream<Path> again = dir.newDirectoryStream(Path.of("."), NOFOLLOW)) {
      for (Path p : again) {
        names.add(p.getFileName().toString());
      }
    }
    return names;
  }

  /** Renames {@code from} to {@code to} within this directory ({@code renameat}, atomic, replacing {@code to}). */
  public void rename(String from, String to) throws IOException {
    dir.move(Path.of(checkName(from)), dir, Path.of(checkName(to)));
  }

  /** Removes the file or link {@code name} ({@code unlinkat}; a link is removed, never followed). */
  public void deleteFile(String name) throws IOException {
    dir.deleteFile(Path.of(checkName(name)));
  }

  /** Removes the file or link {@code name} if it exists. */
  public void deleteFileIfExists(String name) throws IOException {
    try {
      deleteFile(name);
    } catch (NoSuchFileException e) {
      // already gone
    }
  }

  /** Removes the empty directory {@code name}. */
  public void deleteDirectory(String name) throws IOException {
    dir.deleteDirectory(Path.of(checkName(name)));
  }

  /**
   * Creates the symbolic link {@code name -> target} in this directory. By path (the JDK has no
   * {@code symlinkat}), after checking that the path still names this opened directory;
   * {@code symlink(2)} never follows a link at its last component.
   */
  public void createSymbolicLink(String name, Path target) throws IOException {
    Path p = path.resolve(checkName(name));
    requireStillAtPath();
    Files.createSymbolicLink(p, target);
  }

  /** The target of the link {@code name} in this directory, or {@code null} if it is not a link. */
  public Path readSymbolicLink(String name) throws IOException {
    PosixFileAttributes a = attributes(name);
    if (a == null || !a.isSymbolicLink()) {
      return null;
    }
    return Files.readSymbolicLink(path.resolve(name));
  }

  /** Flushes the directory's entries to disk, where the file system supports it. */
  public void sync() {
    try (SeekableByteChannel ch =
        dir.newByteChannel(Path.of("."), Set.of(StandardOpenOption.READ))) {
      if (ch instanceof java.nio.channels.FileChannel fc) {
        fc.force(true);
      }
    } catch (IOException | UnsupportedOperationException e) {
      // not every file system syncs directories; renames are still atomic
    }
  }

  private void requireStillAtPath() throws IOException {
    if (!stillAtPath()) {
      throw new UnsafePathException(
          path,
          path + " was moved or replaced while it was being written; refusing to "
              + "continue by path");
    }
  }

  private static String checkName(String name) {
    Objects.requireNonNull(name, "name");
    if (name.isEmpty()
        || name.contains("/")
        || name.equals(".")
        || name.equals("..")
        || name.indexOf('\0') >= 0) {
      throw new IllegalArgumentException("bad file name '" + name + "'");
    }
    return name;
  }

  @Override
  public void close() throws IOException {
    dir.close();
  }

  @Override
  public String toString() {
    return path.toString();
  }
}
