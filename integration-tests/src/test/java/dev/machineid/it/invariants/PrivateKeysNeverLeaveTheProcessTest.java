package dev.machineid.it.invariants;

import static org.assertj.core.api.Assertions.assertThat;

import dev.machineid.core.CredentialHandle;
import dev.machineid.core.CredentialRequest;
import dev.machineid.core.Identity;
import dev.machineid.core.MachineIdentity;
import dev.machineid.core.protocol.Pem;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.interfaces.ECPrivateKey;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * docs/architecture.md §11, invariant 1 as written: no private key the SDK makes leaves the process, on any call. What the
 * issuer received is recorded on the issuer's side, after TLS, for every call (the join, a
 * renewal, {@code /v1/certificates} and the heartbeat, all but the first over mTLS): the issuer
 * runs in its own JVM with the JDK's TLS debug output on, which prints every record it decrypts.
 * Nothing in the issuer's code is changed or configured for the test, and the client connects with
 * its CA pin exactly as an application does. Each private key the SDK used is then looked for in
 * what the issuer received, as the fixed-length 32-byte scalar in hex, base64 and base64url, and as
 * PKCS#8 (binary, base64 and each PEM line).
 */
class PrivateKeysNeverLeaveTheProcessTest {
  private static final byte[] DECRYPTED =
      "Plaintext after DECRYPTION".getBytes(StandardCharsets.US_ASCII);

  @Test
  void noPrivateKeyReachesTheIssuerInAnyEncodingOnAnyCall(@TempDir Path dir) throws Exception {
    Path out = dir.resolve("issuer.out");
    Path tls = dir.resolve("issuer-tls.log");
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process issuer = new ProcessBuilder(
            java,
            "-Djavax.net.debug=ssl:record:plaintext",
            "-cp",
            System.getProperty("java.class.path"),
            RecordedIssuerMain.class.getName())
        .redirectOutput(out.toFile())
        .redirectError(tls.toFile())
        .start();
    Map<String, PrivateKey> keys = new LinkedHashMap<>();
    List<PublicKey> publicKeys = new ArrayList<>();
    byte[] received;
    try {
      String[] ready = awaitReady(issuer, out);
      try (MachineIdentity id = MachineIdentity.builder()
          .issuer(URI.create(ready[1]))
          .caPins(ready[2])
          .token(ready[3])
          .sshCertificate(true)
          .oneShot(true)
          .startTimeout(Duration.ofSeconds(60))
          .requestTimeout(Duration.ofSeconds(30))
          .build()) {
        Identity joined = id.start();
        keys.put("join", joined.privateKey());
        publicKeys.add(joined.certificate().getPublicKey());
        Identity renewed = id.renewNow().get(60, TimeUnit.SECONDS);
        keys.put("renewal", renewed.privateKey());
        publicKeys.add(renewed.certificate().getPublicKey());
        CredentialHandle db = id.credentials(CredentialRequest.database("app", "db"));
        keys.put("database credential", db.current().privateKey().orElseThrow());
        publicKeys.add(db.current().publicKey().orElseThrow());
      }
    } finally {
      issuer.getOutputStream().close();
      if (!issuer.waitFor(30, TimeUnit.SECONDS)) {
        issuer.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
      }
    }
    received = decrypted(Files.readAllBytes(tls));
    String text = new String(received, StandardCharsets.ISO_8859_1);

    // the recording holds every call, mTLS ones included, with their bodies
    assertThat(text)
        .contains(
            "POST /v1/join/challenge ",
            "POST /v1/join ",
            "POST /v1/renew ",
            "POST /v1/certificates ",
            "POST /v1/heartbeat ");
    for (PublicKey pub : publicKeys) {
      assertThat(text)
          .as("the public half of each key is what travels")
          .contains(Pem.encode(pub).replace("\n", "\\n"));
    }
    assertThat(keys.values()).doesNotHaveDuplicates();

    assertThat(text).doesNotContain("PRIVATE KEY");
    keys.forEach((use, key) -> {
      for (Map.Entry<String, byte[]> form : forms(key).entrySet()) {
        assertThat(indexOf(received, form.getValue()))
            .as("the %s key as %s reached the issuer", use, form.getKey())
            .isEqualTo(-1);
      }
    });
  }

  /** Every encoding of the key looked for, as the bytes it would travel as. */
  static Map<String, byte[]> forms(PrivateKey key) {
    Map<String, byte[]> forms = new LinkedHashMap<>();
    if (key instanceof ECPrivateKey ec) {
      byte[] scalar =
          fixed(ec.getS(), (ec.getParams().getCurve().getField().getFieldSize() + 7) / 8);
      forms.put("raw scalar", scalar);
      forms.put("hex scalar", ascii(HexFormat.of().formatHex(scalar)));
      forms.put("HEX scalar", ascii(HexFormat.of().withUpperCase().formatHex(scalar)));
      forms.put("base64 scalar", ascii(Base64.getEncoder().encodeToString(scalar)));
      forms.put(
          "base64 scalar unpadded",
          ascii(Base64.getEncoder().withoutPadding().encodeToString(scalar)));
      forms.put(
          "base64url scalar",
          ascii(Base64.getUrlEncoder().withoutPadding().encodeToString(scalar)));
      forms.put("decimal scalar", ascii(ec.getS().toString()));
    }
    byte[] pkcs8 = key.getEncoded();
    forms.put("PKCS#8 DER", pkcs8);
    forms.put("PKCS#8 base64", ascii(Base64.getEncoder().encodeToString(pkcs8)));
    forms.put(
        "PKCS#8 base64url", ascii(Base64.getUrlEncoder().withoutPadding().encodeToString(pkcs8)));
    String body = Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(pkcs8);
    String[] lines = body.split("\n");
    for (int i = 0; i < lines.length; i++) {
      // the first line is mostly the algorithm header every such key shares; the rest is the key
      if (i > 0 || lines.length == 1) {
        forms.put("PEM line " + (i + 1), ascii(lines[i]));
      }
    }
    return forms;
  }

  /** The unsigned big-endian value in exactly {@code length} bytes (BigInteger adds a sign byte or drops leading zeros). */
  static byte[] fixed(BigInteger value, int length) {
    byte[] b = value.toByteArray();
    if (b.length == length) {
      return b;
    }
    byte[] out = new byte[length];
    if (b.length > length) {
      System.arraycopy(b, b.length - length, out, 0, length);
    } else {
      System.arraycopy(b, 0, out, length - b.length, b.length);
    }
    return out;
  }

  private static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }

  /**
   * The bytes of every record the issuer decrypted, in order, from the JDK's debug output: blocks
   * opened by "Plaintext after DECRYPTION (" and holding hex dump lines
   * {@code "  0000: 50 4F 53 54 20 2F 76 31   2F 6A ...  ascii"}.
   */
  static byte[] decrypted(byte[] log) {
    String[] lines = new String(log, StandardCharsets.ISO_8859_1).split("\n");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    boolean in = false;
    int blocks = 0;
    for (String line : lines) {
      if (line.contains(new String(DECRYPTED, StandardCharsets.US_ASCII))) {
        in = true;
        blocks++;
        continue;
      }
      if (!in) {
        continue;
      }
      if (!line.matches("^  [0-9A-F]{4}: .*")) {
        in = false;
        continue;
      }
      for (int i = 0; i < 16; i++) {
        int at = 8 + 3 * i + (i >= 8 ? 2 : 0);
        if (at + 2 > line.length()) {
          break;
        }
        String hex = line.substring(at, at + 2);
        if (!hex.matches("[0-9A-F]{2}") || (at + 2 < line.length() && line.charAt(at + 2) != ' ')) {
          break;
        }
        out.write(Integer.parseInt(hex, 16));
      }
    }
    assertThat(blocks).as("records the issuer decrypted").isPositive();
    return out.toByteArray();
  }

  static int indexOf(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  private static String[] awaitReady(Process p, Path out) throws IOException, InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
    while (System.nanoTime() < deadline) {
      String s = Files.exists(out) ? Files.readString(out) : "";
      int at = s.indexOf("READY ");
      if (at >= 0 && s.indexOf('\n', at) > 0) {
        return s.substring(at, s.indexOf('\n', at)).trim().split(" ");
      }
      if (!p.isAlive()) {
        throw new AssertionError("the issuer process exited (" + p.exitValue() + "):\n" + s);
      }
      Thread.sleep(50);
    }
    throw new AssertionError("the issuer process did not start: "
        + Arrays.toString(Files.readAllLines(out).toArray()));
  }
}
