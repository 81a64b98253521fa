package dev.machineid.issuer;

import java.util.Objects;

/**
 * The result of checking the audit chain ({@link Audit#verify()}): either every row from the
 * anchor (where retention last pruned, 0 if never) to the chain head is present, links to the
 * previous row and matches its hash, no row lies beyond the head, and the head is not behind a
 * head this process recorded or the caller pinned; or the first place where that fails.
 *
 * @param intact true if the whole chain verified
 * @param rowsChecked how many rows verified before the end or the first broken row
 * @param brokenSequence the sequence number of the first broken row (or where a missing row should
 *     be), or {@code -1} when intact
 * @param brokenId the id of that row, or {@code null} when intact or the row is missing
 * @param problem what is wrong, or {@code null} when intact
 * @param anchorSequence the sequence number of the last row removed by retention (0 if none was),
 *     or {@code -1} if unknown
 * @param headSequence the sequence number the chain head names, or {@code -1} if unknown
 * @param headHash the hash the chain head names (pin it as {@code headSequence:headHash} to detect a
 *     later rewind), or {@code null} if unknown
 */
public record AuditVerification(
    boolean intact,
    long rowsChecked,
    long brokenSequence,
    String brokenId,
    String problem,
    long anchorSequence,
    long headSequence,
    String headHash) {
  public AuditVerification {
    if (intact != (problem == null)) {
      throw new IllegalArgumentException("an intact chain has no problem, a broken one names it");
    }
  }

  /** Every row from {@code anchor + 1} to the head verified. */
  public static AuditVerification ok(long rows, long anchor, long headSequence, String headHash) {
    return new AuditVerification(true, rows, -1, null, null, anchor, headSequence, headHash);
  }

  /** The chain breaks at row {@code sequence}. */
  public static AuditVerification broken(
      long rowsChecked,
      long sequence,
      String id,
      String problem,
      long anchor,
      long headSequence,
      String headHash) {
    return new AuditVerification(
        false,
        rowsChecked,
        sequence,
        id,
        Objects.requireNonNull(problem, "problem"),
        anchor,
        headSequence,
        headHash);
  }

  @Override
  public String toString() {
    String head = headSequence < 0
        ? ""
        : "; head " + headSequence + ":" + headHash
            + (anchorSequence > 0 ? ", anchor " + anchorSequence : "");
    return intact
        ? "audit chain intact: " + rowsChecked + " rows verified" + head
        : "audit chain broken at row " + brokenSequence
            + (brokenId == null ? "" : " (id " + brokenId + ")") + ": " + problem + " ("
            + rowsChecked + " rows before it verified" + head + ")";
  }
}
