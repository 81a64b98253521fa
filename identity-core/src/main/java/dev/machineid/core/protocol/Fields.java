package dev.machineid.core.protocol;

/** Checks shared by the request records' constructors; messages name the field as it is on the wire. */
final class Fields {
  private Fields() {}

  /** A required string: present, not JSON null, not empty. */
  static void required(String value, String field) {
    if (value == null) {
      throw new IllegalArgumentException("missing required field '" + field + "'");
    }
    if (value.isEmpty()) {
      throw new IllegalArgumentException("field '" + field + "' must not be empty");
    }
  }
}
