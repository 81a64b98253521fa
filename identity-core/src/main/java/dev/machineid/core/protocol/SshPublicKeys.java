package dev.machineid.core.protocol;

import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.PublicKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.EdECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.util.Arrays;
import java.util.Base64;

/** OpenSSH {@code authorized_keys} lines for the key types the SDK makes (RFC 4253, 5656, 8709). */
public final class SshPublicKeys {
  private SshPublicKeys() {}

  /** {@code <type> <base64 blob>}, e.g. {@code ecdsa-sha2-nistp256 AAAA…}. */
  public static String authorizedKey(PublicKey key) {
    ByteArrayOutputStream blob = new ByteArrayOutputStream();
    String type;
    if (key instanceof ECPublicKey ec) {
      if (ec.getParams().getCurve().getField().getFieldSize() != 256) {
        throw new IllegalArgumentException("only P-256 EC keys are supported for SSH");
      }
      type = "ecdsa-sha2-nistp256";
      string(blob, type.getBytes(StandardCharsets.US_ASCII));
      string(blob, "nistp256".getBytes(StandardCharsets.US_ASCII));
      byte[] point = new byte[65];
      point[0] = 4;
      copyFixed(ec.getW().getAffineX(), point, 1, 32);
      copyFixed(ec.getW().getAffineY(), point, 33, 32);
      string(blob, point);
    } else if (key instanceof EdECPublicKey ed) {
      type = "ssh-ed25519";
      string(blob, type.getBytes(StandardCharsets.US_ASCII));
      // RFC 8032 encoding: little-endian y with the x parity in the top bit
      byte[] y = ed.getPoint().getY().toByteArray();
      byte[] le = new byte[32];
      for (int i = 0; i < Math.min(32, y.length); i++) {
        le[i] = y[y.length - 1 - i];
      }
      if (ed.getPoint().isXOdd()) {
        le[31] |= (byte) 0x80;
      }
      string(blob, le);
    } else if (key instanceof RSAPublicKey rsa) {
      type = "ssh-rsa";
      string(blob, type.getBytes(StandardCharsets.US_ASCII));
      string(blob, rsa.getPublicExponent().toByteArray());
      string(blob, rsa.getModulus().toByteArray());
    } else {
      throw new IllegalArgumentException("unsupported SSH key type " + key.getAlgorithm());
    }
    return type + " " + Base64.getEncoder().encodeToString(blob.toByteArray());
  }

  private static void copyFixed(BigInteger v, byte[] out, int at, int len) {
    byte[] b = v.toByteArray();
    if (b.length > len) {
      b = Arrays.copyOfRange(b, b.length - len, b.length);
    }
    System.arraycopy(b, 0, out, at + len - b.length, b.length);
  }

  private static void string(ByteArrayOutputStream out, byte[] data) {
    out.write(data.length >>> 24);
    out.write(data.length >>> 16);
    out.write(data.length >>> 8);
    out.write(data.length);
    out.write(data, 0, data.length);
  }
}
