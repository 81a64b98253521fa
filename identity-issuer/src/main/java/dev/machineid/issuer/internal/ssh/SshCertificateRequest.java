package dev.machineid.issuer.internal.ssh;

import java.security.PublicKey;
import java.time.Instant;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * What an OpenSSH certificate says about its subject.
 *
 * <p>User certificates carry the standard extensions ({@link #USER_EXTENSIONS}, sorted by name as
 * OpenSSH requires); host certificates carry none; neither carries critical options. Times are
 * whole seconds (fractions are dropped); a certificate is valid from {@code validAfter} up to,
 * excluding, {@code validBefore}. The serial is written as OpenSSH's unsigned 64-bit value, so a
 * negative {@code long} stands for a serial above 2^63.
 *
 * @param subjectKey the key the certificate is for: Ed25519, ECDSA P-256 or RSA of 2048 to 8192 bits
 *     ({@link #parseAuthorizedKey(String)} reads one from an {@code authorized_keys} line)
 * @param type user or host
 * @param keyId logged by sshd on every login: 1 to 256 printable ASCII characters, no spaces
 * @param principals logins (user) or host names (host): at least one, 1 to 255 characters each,
 *     no whitespace, commas or control characters, no duplicates
 * @param validAfter start of validity, at or after the epoch
 * @param validBefore end of validity, at least one whole second after {@code validAfter}
 * @param serial the certificate serial
 * @throws IllegalArgumentException if any of these rules is broken
 */
public record SshCertificateRequest(
    PublicKey subjectKey,
    Type type,
    String keyId,
    List<String> principals,
    Instant validAfter,
    Instant validBefore,
    long serial) {

  /** The extensions of user certificates, in the order they are written (sorted by name). */
  public static final List<String> USER_EXTENSIONS =
      List.of("permit-agent-forwarding", "permit-port-forwarding", "permit-pty", "permit-user-rc");

  private static final int MAX_KEY_ID = 256;
  private static final int MAX_PRINCIPAL = 255;
  private static final int MAX_PRINCIPALS = 256;

  /** The certificate type: the wire values are 1 for user and 2 for host certificates. */
  public enum Type {
    USER(1),
    HOST(2);

    private final int wireValue;

    Type(int wireValue) {
      this.wireValue = wireValue;
    }

    /** The {@code uint32 type} field of the certificate. */
    public int wireValue() {
      return wireValue;
    }

    static Type fromWire(long value) {
      for (Type t : values()) {
        if (t.wireValue == value) {
          return t;
        }
      }
      throw new IllegalArgumentException(
          "unknown SSH certificate type " + value + " (1 is user, 2 is host)");
    }
  }

  public SshCertificateRequest {
    if (subjectKey == null) {
      throw new IllegalArgumentException("subjectKey is required");
    }
    try {
      SshKeys.keyType(subjectKey);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("subjectKey: " + e.getMessage(), e);
    }
    if (type == null) {
      throw new IllegalArgumentException("type is required (USER or HOST)");
    }
    checkKeyId(keyId);
    principals = checkPrincipals(principals, type);
    if (validAfter == null || validBefore == null) {
      throw new IllegalArgumentException("validAfter and validBefore are required");
    }
    if (validAfter.getEpochSecond() < 0) {
      throw new IllegalArgumentException(
          "validAfter must not be before 1970-01-01T00:00:00Z, got " + validAfter);
    }
    if (validBefore.getEpochSecond() <= validAfter.getEpochSecond()) {
      throw new IllegalArgumentException(
          "validBefore must be at least one whole second after validAfter, got validAfter "
              + validAfter + " and validBefore " + validBefore);
    }
  }

  /** A user certificate for the logins in {@code principals}. */
  public static SshCertificateRequest user(
      PublicKey subjectKey,
      String keyId,
      List<String> principals,
      Instant validAfter,
      Instant validBefore,
      long serial) {
    return new SshCertificateRequest(
        subjectKey, Type.USER, keyId, principals, validAfter, validBefore, serial);
  }

  /** A host certificate for the host names in {@code principals}. */
  public static SshCertificateRequest host(
      PublicKey subjectKey,
      String keyId,
      List<String> principals,
      Instant validAfter,
      Instant validBefore,
      long serial) {
    return new SshCertificateRequest(
        subjectKey, Type.HOST, keyId, principals, validAfter, validBefore, serial);
  }

  /** The extensions this certificate carries: {@link #USER_EXTENSIONS} for users, none for hosts. */
  public List<String> extensions() {
    return type == Type.USER ? USER_EXTENSIONS : List.of();
  }

  /**
   * Reads the public key of an {@code authorized_keys} / {@code .pub} line {@code <type> <base64>
   * [comment]} for {@code ssh-ed25519}, {@code ecdsa-sha2-nistp256} or {@code ssh-rsa} (2048 to 8192
   * bits). Options before the type and certificate lines are refused.
   *
   * @throws IllegalArgumentException with the reason if the line is not such a key
   */
  public static PublicKey parseAuthorizedKey(String line) {
    if (line == null || line.isBlank()) {
      throw new IllegalArgumentException(
          "ssh_public_key is empty: expected an authorized_keys line such as 'ssh-ed25519 AAAA... comment'");
    }
    String[] parts = line.strip().split("\\s+", 3);
    String type = parts[0];
    if (type.endsWith(SshKeys.CERT_SUFFIX)) {
      throw new IllegalArgumentException(
          "ssh_public_key is a certificate (" + type + "); send the plain public key");
    }
    if (!type.equals(SshKeys.ED25519)
        && !type.equals(SshKeys.ECDSA_P256)
        && !type.equals(SshKeys.RSA)) {
      throw new IllegalArgumentException(
          "ssh_public_key: unsupported key type or options before it ('" + abbreviate(type)
              + "'); expected ssh-ed25519, ecdsa-sha2-nistp256 or ssh-rsa");
    }
    if (parts.length < 2) {
      throw new IllegalArgumentException("ssh_public_key: the base64 key is missing after " + type);
    }
    byte[] blob;
    try {
      blob = Base64.getDecoder().decode(parts[1]);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "ssh_public_key: the key after " + type + " is not base64", e);
    }
    PublicKey key;
    try {
      key = SshKeys.fromBlob(blob, type);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("ssh_public_key: " + e.getMessage(), e);
    }
    try {
      // the same checks as a PEM public_key: curve point, small order, exponent, size
      return dev.machineid.issuer.internal.authority.Keys.check(key);
    } catch (dev.machineid.issuer.internal.ProblemException e) {
      throw new IllegalArgumentException("ssh_" + e.getMessage(), e);
    }
  }

  private static void checkKeyId(String keyId) {
    if (keyId == null || keyId.isEmpty()) {
      throw new IllegalArgumentException("keyId must not be empty");
    }
    if (keyId.length() > MAX_KEY_ID) {
      throw new IllegalArgumentException(
          "keyId must have at most " + MAX_KEY_ID + " characters, it has " + keyId.length());
    }
    for (int i = 0; i < keyId.length(); i++) {
      char c = keyId.charAt(i);
      if (c < 0x21 || c > 0x7e) {
        throw new IllegalArgumentException("keyId must be printable ASCII without spaces, found "
            + describe(c) + " at index " + i);
      }
    }
  }

  /** True if {@code principal} can be a certificate principal: 1 to 255 characters, no whitespace, comma or control character. */
  public static boolean isValidPrincipal(String principal) {
    if (principal == null || principal.isEmpty() || principal.length() > MAX_PRINCIPAL) {
      return false;
    }
    for (int i = 0; i < principal.length(); i++) {
      if (badPrincipalChar(principal.charAt(i))) {
        return false;
      }
    }
    return true;
  }

  private static boolean badPrincipalChar(char c) {
    return c <= 0x20
        || c == 0x7f
        || c == ','
        || Character.isWhitespace(c)
        || Character.isISOControl(c);
  }

  private static List<String> checkPrincipals(List<String> principals, Type type) {
    String what = type == Type.USER ? "logins" : "host names";
    if (principals == null || principals.isEmpty()) {
      throw new IllegalArgumentException(
          "principals must not be empty: a certificate needs at least one of its " + what);
    }
    if (principals.size() > MAX_PRINCIPALS) {
      throw new IllegalArgumentException(
          "at most " + MAX_PRINCIPALS + " principals are allowed, got " + principals.size());
    }
    Set<String> seen = new HashSet<>();
    for (String p : principals) {
      if (p == null || p.isEmpty()) {
        throw new IllegalArgumentException("principals must not contain an empty or null entry");
      }
      if (p.length() > MAX_PRINCIPAL) {
        throw new IllegalArgumentException(
            "principal '" + abbreviate(p) + "' is longer than " + MAX_PRINCIPAL + " characters");
      }
      for (int i = 0; i < p.length(); i++) {
        char c = p.charAt(i);
        if (badPrincipalChar(c)) {
          throw new IllegalArgumentException("principal '" + abbreviate(p) + "' contains "
              + describe(c) + "; whitespace, commas and control characters are not allowed");
        }
      }
      if (!seen.add(p)) {
        throw new IllegalArgumentException("principal '" + abbreviate(p) + "' is listed twice");
      }
    }
    return List.copyOf(principals);
  }

  private static String describe(char c) {
    return c == ' ' ? "a space" : c == ',' ? "a comma" : String.format("character U+%04X", (int) c);
  }

  private static String abbreviate(String s) {
    String printable = s.codePoints()
        .map(c -> Character.isISOControl(c) ? '?' : c)
        .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append)
        .toString();
    return printable.length() <= 40 ? printable : printable.substring(0, 40) + "...";
  }
}
