package dev.machineid.core.join;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What a {@link JoinMethod} proves, as the issuer receives it in the {@code proof} member of
 * {@code POST /v1/join}: named fields whose values are strings, booleans, numbers, nested objects
 * ({@code Map<String, ?>}) or lists of these. Immutable, and kept in the order the fields were
 * given, which is the order they are sent in.
 *
 * <pre>{@code
 * JoinProof.builder().put("document", document).put("signature", signature).build();
 * JoinProof.of(Map.of("id_token", jwt));
 * }</pre>
 *
 * <p>A proof is a credential (a signed request, a token): {@link #toString()} names the fields but
 * never prints their values.
 */
public final class JoinProof {
  private static final JoinProof EMPTY = new JoinProof(Map.of());
  private final Map<String, Object> fields;

  private JoinProof(Map<String, Object> fields) {
    this.fields = fields;
  }

  /** The empty proof ({@code {}}), what the {@code token} method sends. */
  public static JoinProof empty() {
    return EMPTY;
  }

  /**
   * A proof with these fields, copied deeply (iteration order kept).
   *
   * @throws IllegalArgumentException if a name is null or a value is null or of another type
   */
  public static JoinProof of(Map<String, ?> fields) {
    Objects.requireNonNull(fields, "fields");
    return fields.isEmpty() ? EMPTY : new JoinProof(copyObject(fields, "proof"));
  }

  public static Builder builder() {
    return new Builder();
  }

  /** The fields, in order; nested objects and lists are immutable too. */
  public Map<String, Object> fields() {
    return fields;
  }

  /** The string value of a top-level field, or null if it is absent or not a string. */
  public String string(String name) {
    return fields.get(name) instanceof String s ? s : null;
  }

  public boolean isEmpty() {
    return fields.isEmpty();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof JoinProof p && p.fields.equals(fields);
  }

  @Override
  public int hashCode() {
    return fields.hashCode();
  }

  /** The field names only: values are secrets. */
  @Override
  public String toString() {
    return "JoinProof" + fields.keySet();
  }

  private static Map<String, Object> copyObject(Map<?, ?> in, String path) {
    Map<String, Object> out = new LinkedHashMap<>();
    for (Map.Entry<?, ?> e : in.entrySet()) {
      if (!(e.getKey() instanceof String name)) {
        throw new IllegalArgumentException(
            "a join proof's field names are strings; " + path + " has " + e.getKey());
      }
      out.put(name, copyValue(e.getValue(), path + "." + name));
    }
    return Collections.unmodifiableMap(out);
  }

  private static Object copyValue(Object v, String path) {
    if (v instanceof String
        || v instanceof Boolean
        || v instanceof Integer
        || v instanceof Long
        || v instanceof java.math.BigInteger
        || v instanceof java.math.BigDecimal) {
      return v;
    }
    if (v instanceof Map<?, ?> m) {
      return copyObject(m, path);
    }
    if (v instanceof List<?> l) {
      List<Object> out = new ArrayList<>(l.size());
      for (int i = 0; i < l.size(); i++) {
        out.add(copyValue(l.get(i), path + "[" + i + "]"));
      }
      return Collections.unmodifiableList(out);
    }
    throw new IllegalArgumentException(
        "join proof field " + path + " must be a string, boolean, integer, decimal, "
            + "Map or List, not " + (v == null ? "null" : v.getClass().getName()));
  }

  /** Builds a proof field by field, in order. */
  public static final class Builder {
    private final Map<String, Object> fields = new LinkedHashMap<>();

    private Builder() {}

    /**
     * Adds (or replaces) a field.
     *
     * @throws IllegalArgumentException if the value is null or of a type a proof cannot carry
     */
    public Builder put(String name, Object value) {
      Objects.requireNonNull(name, "name");
      fields.put(name, copyValue(value, "proof." + name));
      return this;
    }

    public JoinProof build() {
      return of(fields);
    }
  }
}
