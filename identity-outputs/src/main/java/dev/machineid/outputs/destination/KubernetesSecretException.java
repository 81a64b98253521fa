package dev.machineid.outputs.destination;

import dev.machineid.core.IdentityException;
import java.util.Objects;

/**
 * A {@link KubernetesSecretDestination} could not read or write its Secret. {@link #reason()} says
 * why in a form a caller can act on; the message names the Secret and what to change. A failed
 * write leaves the Secret as it was.
 */
public final class KubernetesSecretException extends IdentityException {
  private static final long serialVersionUID = 1L;

  /** Why the Secret could not be read or written. */
  public enum Reason {
    /** HTTP 401: the API server did not accept the client's credentials. */
    UNAUTHORIZED,
    /** HTTP 403: the service account lacks a verb on the Secret (RBAC). */
    FORBIDDEN,
    /** HTTP 409 on every attempt: the Secret kept changing (or appearing) between our read and our write. */
    CONFLICT,
    /**
     * The Secret already holds a key of that name that this destination did not write (it is not
     * listed in {@value KubernetesSecretDestination#KEYS_ANNOTATION}); it is someone else's and is
     * never overwritten.
     */
    FOREIGN_KEY,
    /** The Secret's keys belong to another output (its {@value KubernetesSecretDestination#OUTPUT_ANNOTATION} names it). */
    OWNED_BY_ANOTHER_OUTPUT,
    /** The Secret is managed by another tool: another {@code app.kubernetes.io/managed-by}, a Helm release, a controller. */
    MANAGED_ELSEWHERE,
    /** The Secret is not of type {@code Opaque} (e.g. a service-account token). */
    WRONG_TYPE,
    /** Any other answer from the API server, or none. */
    API_ERROR
  }

  private final Reason reason;
  private final int httpStatus;
  private final String namespace;
  private final String name;

  KubernetesSecretException(
      Reason reason,
      int httpStatus,
      String namespace,
      String name,
      String message,
      Throwable cause) {
    super(message, cause);
    this.reason = Objects.requireNonNull(reason, "reason");
    this.httpStatus = httpStatus;
    this.namespace = namespace;
    this.name = name;
  }

  public Reason reason() {
    return reason;
  }

  /** The API server's HTTP status, or 0 where there was no answer or the refusal is the destination's own. */
  public int httpStatus() {
    return httpStatus;
  }

  /** The Secret's namespace. */
  public String namespace() {
    return namespace;
  }

  /** The Secret's name. */
  public String name() {
    return name;
  }
}
