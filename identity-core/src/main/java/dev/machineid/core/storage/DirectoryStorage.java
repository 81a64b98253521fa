package dev.machineid.core.storage;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import dev.machineid.core.ConfigException;
import dev.machineid.core.IdentityException;
import dev.machineid.core.protocol.Pem;
import dev.machineid.core.protocol.Protocol;
import java.io.IOException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * Keeps the identity in {@code <directory>/identity.json} (mode 0600, directory 0700), replaced
 * atomically through a temporary file and a rename, so the key and the certificate always match.
 * The directory is opened through {@link SafeDirectory}: every component of its path must belong to
 * root or this process's user and be writable by nobody else, and the file is created, renamed and
 * read relative to the opened directory without following links. A directory that fails the check
 * (a symbolic link, world- or group-writable, squatted by another user) is refused with a
 * {@link ConfigException} for both {@link #load()} and {@link #save}.
 */
public final class DirectoryStorage implements Storage {
  static final String FILE = "identity.json";
  private static final Set<PosixFilePermission> OWNER_RW =
      PosixFilePermissions.fromString("rw-------");
  private static final Set<PosixFilePermission> OWNER_RWX =
      PosixFilePermissions.fromString("rwx------");
  private static final SecureRandom RANDOM = new SecureRandom();
  /** The file format this version writes and reads. */
  static final int VERSION = 1;
  /**
   * The most {@code identity.json} may hold: a chain, a key and a trust bundle take a few KiB, so a
   * larger file is not one this library wrote, and reading it whole could exhaust the heap.
   */
  static final long MAX_FILE_BYTES = 1024 * 1024;

  private final Path directory;

  DirectoryStorage(Path directory) {
    this.directory = Objects.requireNonNull(directory, "directory").toAbsolutePath();
  }

  public Path directory() {
    return directory;
  }

  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  @JsonInclude(JsonInclude.Include.NON_NULL)
  record Envelope(
      Integer version,
      FileIssued credentials,
      String privateKey,
      String pendingPrivateKey,
      String pendingPublicKey) {}

  /** {@link StoredIdentity.Issued} in the file: the members, names and order of format 1. */
  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  @JsonInclude(JsonInclude.Include.NON_NULL)
  @JsonIgnoreProperties(ignoreUnknown = true)
  record FileIssued(
      String bot,
      String instanceId,
      long generation,
      List<String> certificateChain,
      String sshCertificate,
      Instant notAfter,
      Instant renewAfter,
      Instant serverTime,
      FileAuthorities authority) {
    static FileIssued of(StoredIdentity.Issued i) {
      StoredIdentity.Authorities a = i.authorities();
      return new FileIssued(
          i.bot(),
          i.instanceId(),
          i.generation(),
          i.certificateChain(),
          i.sshCertificate(),
          i.notAfter(),
          i.renewAfter(),
          i.serverTime(),
          a == null
              ? null
              : new FileAuthorities(
                  a.trustDomain(),
                  a.x509Authorities(),
                  a.spiffeAuthorities(),
                  a.databaseClientAuthorities(),
                  a.databaseServerAuthorities(),
                  a.kubernetesClientAuthorities(),
                  a.sshUserAuthorities(),
                  a.sshHostAuthorities(),
                  tree(a.jwksJson())));
    }

    StoredIdentity.Issued issued() throws IOException {
      FileAuthorities a = authority;
      return new StoredIdentity.Issued(
          bot,
          instanceId,
          generation,
          certificateChain,
          sshCertificate,
          notAfter,
          renewAfter,
          serverTime,
          a == null
              ? null
              : new StoredIdentity.Authorities(
                  a.trustDomain(),
                  a.x509Authorities(),
                  a.spiffeAuthorities(),
                  a.databaseClientAuthorities(),
                  a.databaseServerAuthorities(),
                  a.kubernetesClientAuthorities(),
                  a.sshUserAuthorities(),
                  a.sshHostAuthorities(),
                  a.jwks() == null ? null : Protocol.writer().writeValueAsString(a.jwks())));
    }

    private static JsonNode tree(String json) {
      try {
        return json == null ? null : Protocol.reader().readTree(json);
      } catch (IOException e) {
        throw new IllegalArgumentException(
            "the stored identity's JWKS is not JSON: " + e.getMessage(), e);
      }
    }
  }

  /** {@link StoredIdentity.Authorities} in the file: the members, names and order of format 1. */
  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  @JsonInclude(JsonInclude.Include.NON_NULL)
  @JsonIgnoreProperties(ignoreUnknown = true)
  record FileAuthorities(
      String trustDomain,
      List<String> x509Authorities,
      List<String> spiffeAuthorities,
      List<String> databaseClientAuthorities,
      List<String> databaseServerAuthorities,
      List<String> kubernetesClientAuthorities,
      List<String> sshUserAuthorities,
      List<String> sshHostAuthorities,
      JsonNode jwks) {}

  @Override
  public Optional<StoredIdentity> load() {
    Path file = directory.resolve(FILE);
    byte[] json;
    try (SafeDirectory dir = openDirectory(false)) {
      if (dir == null || dir.attributes(FILE) == null) {
        return Optional.empty();
      }
      // the key file must be as save() leaves it: this user's, 0600, and of a size it could write
      dir.checkPrivateFile(FILE, MAX_FILE_BYTES);
      json = dir.readFile(FILE, MAX_FILE_BYTES);
    } catch (SafeDirectory.UnsafePathException e) {
      throw refused(e);
    } catch (IOException ex) {
      throw new IdentityException(
          "cannot read stored identity " + file + ": " + ex.getMessage()
              + "; fix the file's permissions or delete it to join again",
          ex);
    }
    try {
      Envelope e = Protocol.reader().readValue(json, Envelope.class);
      if (e.version() == null || e.version() != VERSION) {
        throw new IdentityException("stored identity " + file + " has format version "
            + e.version() + ", which this version does not read (it reads " + VERSION
            + "); fix the file or delete it to join again");
      }
      if (e.credentials() == null || e.privateKey() == null) {
        throw new IdentityException(
            "stored identity " + file + " is incomplete; delete it to join again");
      }
      KeyPair pending = e.pendingPrivateKey() == null || e.pendingPublicKey() == null
          ? null
          : new KeyPair(Pem.publicKey(e.pendingPublicKey()), Pem.privateKey(e.pendingPrivateKey()));
      return Optional.of(
          new StoredIdentity(e.credentials().issued(), Pem.privateKey(e.privateKey()), pending));
    } catch (IOException | IllegalArgumentException ex) {
      throw new IdentityException(
          "cannot read stored identity " + file + ": " + ex.getMessage()
              + "; fix the file or delete it to join again",
          ex);
    }
  }

  @Override
  public void save(StoredIdentity identity) {
    Objects.requireNonNull(identity, "identity");
    try (SafeDirectory dir = openDirectory(true)) {
      KeyPair pending = identity.pendingKey();
      Envelope e = new Envelope(
          VERSION,
          FileIssued.of(identity.issued()),
          Pem.encode(identity.privateKey()),
          pending == null ? null : Pem.encode(pending.getPrivate()),
          pending == null ? null : Pem.encode(pending.getPublic()));
      byte[] json = Protocol.writer().writeValueAsBytes(e);
      String tmp = ".identity-" + Long.toUnsignedString(RANDOM.nextLong(), 36) + ".tmp";
      dir.writeNewFile(tmp, json, OWNER_RW); // created 0600 and synced
      try {
        dir.rename(tmp, FILE); // renameat(2): atomic, replaces the old file, never follows a link
      } catch (IOException | RuntimeException ex) {
        try {
          dir.deleteFileIfExists(tmp);
        } catch (IOException cleanup) {
          ex.addSuppressed(cleanup);
        }
        throw ex;
      }
      dir.sync(); // without it a power loss can bring back the old file, or none
    } catch (SafeDirectory.UnsafePathException ex) {
      throw refused(ex);
    } catch (IOException ex) {
      throw new IdentityException(
          "cannot write identity to " + directory + ": " + ex.getMessage(), ex);
    }
  }

  /**
   * Opens the directory through descriptors after checking that no component of its path can be
   * changed by another user (see {@link SafeDirectory}); creates it (0700) if asked.
   */
  /** Walks what exists of the directory's path by the rule {@link #save} applies, creating nothing. */
  @Override
  public void check() {
    try {
      SafeDirectory dir = openDirectory(false); // null if not there yet (made by the first save)
      if (dir != null) {
        dir.close();
      }
    } catch (SafeDirectory.UnsafePathException e) {
      throw refused(e);
    } catch (IOException e) {
      throw new IdentityException(
          "cannot check storage directory " + directory + ": " + e.getMessage(), e);
    }
  }

  private SafeDirectory openDirectory(boolean create) throws IOException {
    return SafeDirectory.open(directory, create, OWNER_RWX);
  }

  private ConfigException refused(SafeDirectory.UnsafePathException e) {
    return new ConfigException(
        "storage directory " + directory + " refused: " + e.getMessage()
            + ". Nothing was read or written there",
        e);
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
