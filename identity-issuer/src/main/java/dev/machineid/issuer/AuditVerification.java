package dev.machineid.issuer;

import java.util.Objects;

/**
 * The result of checking the audit chain ({@link Issuer#verifyAudit()}): either every row from the
 * first to the chain head is present, links to the previous row and matches its hash, or the first
 * row where that fails.
 *
 * @param intact true if the whole chain verified
 * @param rowsChecked how many rows verified before the end or the first broken row
 * @param brokenSequence the sequence number of the first broken row (or where a missing row should
 *     be), or {@code -1} when intact
 * @param brokenId the id of that row, or {@code null} when intact or the row is missing
 * @param problem what is wrong, or {@code null} when intact
 */
public record AuditVerification(boolean intact, long rowsChecked, long brokenSequence, String brokenId, String problem) {
  public AuditVerification {
    if (intact != (problem == null)) {
      throw new IllegalArgumentException("an intact chain has no problem, a broken one names it");
    }
  }

  /** Every row verified. */
  public static AuditVerification ok(long rows) {
    return new AuditVerification(true, rows, -1, null, null);
  }

  /** The chain breaks at row {@code sequence}. */
  public static AuditVerification broken(long rowsChecked, long sequence, String id, String problem) {
    return new AuditVerification(false, rowsChecked, sequence, id, Objects.requireNonNull(problem, "problem"));
  }

  @Override
  public String toString() {
    return intact
        ? "audit chain intact: " + rowsChecked + " rows verified"
        : "audit chain broken at row " + brokenSequence + (brokenId == null ? "" : " (id " + brokenId + ")") + ": " + problem
            + " (" + rowsChecked + " rows before it verified)";
  }
}
