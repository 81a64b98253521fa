package dev.machineid.issuer.internal.ssh;

import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/** The RFC 4251 §5 data types that OpenSSH keys and certificates are made of. */
final class SshWire {
  private SshWire() {}

  /** Appends {@code uint32}, {@code uint64}, {@code string} and {@code mpint} values. */
  static final class Writer {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    Writer uint32(long value) {
      for (int shift = 24; shift >= 0; shift -= 8) {
        out.write((int) (value >>> shift) & 0xff);
      }
      return this;
    }

    /** Writes all 64 bits; a negative {@code long} is the unsigned value above 2^63. */
    Writer uint64(long value) {
      for (int shift = 56; shift >= 0; shift -= 8) {
        out.write((int) (value >>> shift) & 0xff);
      }
      return this;
    }

    Writer string(byte[] value) {
      uint32(value.length);
      out.writeBytes(value);
      return this;
    }

    Writer string(String value) {
      return string(value.getBytes(StandardCharsets.UTF_8));
    }

    /** Two's complement, big-endian, shortest form; zero is the empty string (RFC 4251 §5). */
    Writer mpint(BigInteger value) {
      return string(value.signum() == 0 ? new byte[0] : value.toByteArray());
    }

    /** Bytes without a length prefix (a value already encoded). */
    Writer raw(byte[] value) {
      out.writeBytes(value);
      return this;
    }

    byte[] toByteArray() {
      return out.toByteArray();
    }
  }

  /** Reads the same types, rejecting truncated input with {@link IllegalArgumentException}. */
  static final class Reader {
    private final byte[] data;
    private int position;

    Reader(byte[] data) {
      this.data = data;
    }

    int position() {
      return position;
    }

    boolean hasRemaining() {
      return position < data.length;
    }

    long uint32() {
      need(4);
      long v = 0;
      for (int i = 0; i < 4; i++) {
        v = (v << 8) | (data[position++] & 0xff);
      }
      return v;
    }

    long uint64() {
      need(8);
      long v = 0;
      for (int i = 0; i < 8; i++) {
        v = (v << 8) | (data[position++] & 0xff);
      }
      return v;
    }

    byte[] string() {
      long length = uint32();
      if (length > data.length - position) {
        throw new IllegalArgumentException("truncated SSH data: a string of " + length + " bytes, "
            + (data.length - position) + " left");
      }
      byte[] v = Arrays.copyOfRange(data, position, position + (int) length);
      position += (int) length;
      return v;
    }

    String utf8() {
      return new String(string(), StandardCharsets.UTF_8);
    }

    BigInteger mpint() {
      byte[] v = string();
      return v.length == 0 ? BigInteger.ZERO : new BigInteger(v);
    }

    void end(String what) {
      if (hasRemaining()) {
        throw new IllegalArgumentException(
            what + " has " + (data.length - position) + " unexpected trailing bytes");
      }
    }

    private void need(int n) {
      if (data.length - position < n) {
        throw new IllegalArgumentException(
            "truncated SSH data: needed " + n + " bytes, " + (data.length - position) + " left");
      }
    }
  }
}
