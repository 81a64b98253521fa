package dev.machineid.core.protocol;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import java.io.IOException;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.Optional;

/**
 * The private certificate extension of a bot identity: instance id, generation and join method, as
 * a DER UTF8String holding JSON. For logging and diagnostics only; the issuer authorises from its
 * store, never from this extension.
 */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
@JsonInclude(JsonInclude.Include.NON_NULL)
public record IdentityExtension(String instanceId, long generation, String joinMethod) {
  /** {@code 2.25.<uuid as decimal>}: an OID that needs no registration. */
  public static final String OID = "2.25.335046574953503910994925244792317141657";

  /** The DER UTF8String that is the extension's {@code extnValue}. */
  public byte[] toDer() {
    try {
      byte[] json = Protocol.writer().writeValueAsBytes(this);
      return DerUtf8.encode(json);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Reads the extension from a certificate, if it carries one that parses. */
  public static Optional<IdentityExtension> from(X509Certificate certificate) {
    byte[] wrapped = certificate.getExtensionValue(OID);
    if (wrapped == null) {
      return Optional.empty();
    }
    try {
      byte[] extnValue = DerUtf8.unwrap(wrapped, 0x04);
      byte[] json = DerUtf8.unwrap(extnValue, 0x0C);
      return Optional.of(Protocol.reader().readValue(json, IdentityExtension.class));
    } catch (IOException | IllegalArgumentException e) {
      return Optional.empty();
    }
  }

  /** Minimal DER for one primitive value: tag, definite length, content. */
  static final class DerUtf8 {
    private DerUtf8() {}

    static byte[] encode(byte[] content) {
      byte[] len = length(content.length);
      byte[] out = new byte[1 + len.length + content.length];
      out[0] = 0x0C;
      System.arraycopy(len, 0, out, 1, len.length);
      System.arraycopy(content, 0, out, 1 + len.length, content.length);
      return out;
    }

    static byte[] length(int n) {
      if (n < 0x80) {
        return new byte[] {(byte) n};
      }
      if (n < 0x100) {
        return new byte[] {(byte) 0x81, (byte) n};
      }
      if (n < 0x10000) {
        return new byte[] {(byte) 0x82, (byte) (n >> 8), (byte) n};
      }
      throw new IllegalArgumentException("value too long");
    }

    static byte[] unwrap(byte[] der, int tag) {
      if (der.length < 2 || (der[0] & 0xFF) != tag) {
        throw new IllegalArgumentException("unexpected DER tag");
      }
      int first = der[1] & 0xFF;
      int at = 2;
      int len;
      if (first < 0x80) {
        len = first;
      } else {
        int count = first & 0x7F;
        if (count < 1 || count > 2 || der.length < 2 + count) {
          throw new IllegalArgumentException("unsupported DER length");
        }
        len = 0;
        for (int i = 0; i < count; i++) {
          len = (len << 8) | (der[at++] & 0xFF);
        }
      }
      if (at + len != der.length) {
        throw new IllegalArgumentException("DER length mismatch");
      }
      return Arrays.copyOfRange(der, at, at + len);
    }
  }

  @Override
  public String toString() {
    return "instance " + instanceId + " generation " + generation + " via " + joinMethod;
  }
}
