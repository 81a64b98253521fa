package dev.machineid.core.output;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * The outcome of an output's last write, as {@link dev.machineid.core.MachineIdentity#outputStatus()}
 * reports it.
 *
 * @param name the output's name, unique within one identity (a {@code #2} suffix tells equal names apart)
 * @param state {@code PENDING} before the first write, then {@code OK} or {@code ERROR}
 * @param error the last write's failure, or {@code null}
 * @param writtenAt when the last write succeeded, or {@code null} if none did
 */
public record OutputStatus(String name, State state, String error, Instant writtenAt) {
  public enum State {
    /** Not written yet. */
    PENDING,
    /** The last write succeeded. */
    OK,
    /** The last write failed; {@link #error()} says why. */
    ERROR
  }

  public OutputStatus {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(state, "state");
  }

  public boolean ok() {
    return state == State.OK;
  }

  public Optional<String> errorMessage() {
    return Optional.ofNullable(error);
  }
}
