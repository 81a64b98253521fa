package dev.machineid.core.storage;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import dev.machineid.core.ConfigException;
import dev.machineid.core.IdentityException;
import dev.machineid.core.protocol.Credentials;
import dev.machineid.core.protocol.Pem;
import dev.machineid.core.protocol.Protocol;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.security.KeyPair;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * Keeps the identity in {@code <directory>/identity.json} (mode 0600, directory 0700), replaced
 * atomically through a temporary file and a rename, so the key and the certificate always match.
 */
public final class DirectoryStorage implements Storage {
  static final String FILE = "identity.json";
  private static final Set<PosixFilePermission> OWNER_RW = PosixFilePermissions.fromString("rw-------");
  private static final Set<PosixFilePermission> OWNER_RWX = PosixFilePermissions.fromString("rwx------");
  private final Path directory;

  DirectoryStorage(Path directory) {
    this.directory = Objects.requireNonNull(directory, "directory").toAbsolutePath();
  }

  public Path directory() {
    return directory;
  }

  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  @JsonInclude(JsonInclude.Include.NON_NULL)
  record Envelope(int version, Credentials credentials, String privateKey, String pendingPrivateKey,
      String pendingPublicKey) {}

  @Override
  public Optional<StoredIdentity> load() {
    Path file = directory.resolve(FILE);
    if (!Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
      return Optional.empty();
    }
    try {
      Envelope e = Protocol.mapper().readValue(file.toFile(), Envelope.class);
      if (e.credentials() == null || e.privateKey() == null) {
        throw new IdentityException("stored identity " + file + " is incomplete; delete it to join again");
      }
      KeyPair pending = e.pendingPrivateKey() == null || e.pendingPublicKey() == null ? null
          : new KeyPair(Pem.publicKey(e.pendingPublicKey()), Pem.privateKey(e.pendingPrivateKey()));
      return Optional.of(new StoredIdentity(e.credentials(), Pem.privateKey(e.privateKey()), pending));
    } catch (IOException | IllegalArgumentException ex) {
      throw new IdentityException("cannot read stored identity " + file + ": " + ex.getMessage()
          + "; fix the file's permissions or delete it to join again", ex);
    }
  }

  @Override
  public void save(StoredIdentity identity) {
    Objects.requireNonNull(identity, "identity");
    try {
      prepareDirectory();
      Path tmp = Files.createTempFile(directory, ".identity-", ".tmp",
          PosixFilePermissions.asFileAttribute(OWNER_RW));
      try {
        KeyPair pending = identity.pendingKey();
        Envelope e = new Envelope(1, identity.credentials(), Pem.encode(identity.privateKey()),
            pending == null ? null : Pem.encode(pending.getPrivate()), pending == null ? null : Pem.encode(pending.getPublic()));
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
          ch.write(ByteBuffer.wrap(Protocol.mapper().writeValueAsBytes(e)));
          ch.force(true);
        }
        try {
          Files.move(tmp, directory.resolve(FILE), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException ex) {
          Files.move(tmp, directory.resolve(FILE), StandardCopyOption.REPLACE_EXISTING);
        }
        syncDirectory();
      } finally {
        Files.deleteIfExists(tmp);
      }
    } catch (IOException ex) {
      throw new IdentityException("cannot write identity to " + directory + ": " + ex.getMessage(), ex);
    }
  }

  /** Makes the rename durable: without it a power loss can bring back the old file, or none. */
  private void syncDirectory() {
    try (FileChannel dir = FileChannel.open(directory, StandardOpenOption.READ)) {
      dir.force(true);
    } catch (IOException ignored) {
      // some file systems cannot sync a directory; the rename is still atomic
    }
  }

  private void prepareDirectory() throws IOException {
    if (Files.isSymbolicLink(directory)) {
      throw new ConfigException("storage directory " + directory + " is a symbolic link; point storage at a real directory");
    }
    if (!Files.isDirectory(directory)) {
      try {
        Files.createDirectories(directory.getParent());
        Files.createDirectory(directory, PosixFilePermissions.asFileAttribute(OWNER_RWX));
      } catch (FileAlreadyExistsException ignored) {
        // raced with another creator; checked below
      }
    }
    Set<PosixFilePermission> perms = Files.getPosixFilePermissions(directory, LinkOption.NOFOLLOW_LINKS);
    if (perms.contains(PosixFilePermission.OTHERS_WRITE)) {
      throw new ConfigException("storage directory " + directory + " is world-writable; chmod o-w it or choose another");
    }
  }

  @Override
  public boolean durable() {
    return true;
  }

  @Override
  public String toString() {
    return "directory(" + directory + ")";
  }
}
