package dev.machineid.testkit;

import java.util.function.IntConsumer;

/**
 * Follows a byte stream of TLS records (5-byte header: content type, 2-byte version, 2-byte
 * length) across arbitrary chunk boundaries and reports each record's content type as soon as
 * its header is complete. Not thread-safe: one scanner per direction, used by one thread.
 */
final class TlsRecordScanner {
  static final int CHANGE_CIPHER_SPEC = 20;
  static final int ALERT = 21;
  static final int HANDSHAKE = 22;
  static final int APPLICATION_DATA = 23;

  private final byte[] header = new byte[5];
  private int headerFill;
  private long bodyLeft;

  /** True if {@code chunk} could start a TLS stream: a handshake record of protocol major version 3. */
  static boolean looksLikeTls(byte[] chunk, int length) {
    return length >= 1 && chunk[0] == HANDSHAKE && (length < 2 || chunk[1] == 3);
  }

  void scan(byte[] chunk, int offset, int length, IntConsumer onRecord) {
    int i = offset;
    int end = offset + length;
    while (i < end) {
      if (bodyLeft > 0) {
        int n = (int) Math.min(bodyLeft, end - i);
        bodyLeft -= n;
        i += n;
        continue;
      }
      header[headerFill++] = chunk[i++];
      if (headerFill == header.length) {
        headerFill = 0;
        bodyLeft = ((header[3] & 0xff) << 8) | (header[4] & 0xff);
        onRecord.accept(header[0] & 0xff);
      }
    }
  }
}
