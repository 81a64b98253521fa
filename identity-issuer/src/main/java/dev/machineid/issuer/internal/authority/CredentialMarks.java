package dev.machineid.issuer.internal.authority;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.machineid.core.protocol.Protocol;
import java.io.IOException;
import java.security.cert.X509Certificate;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.DERUTF8String;
import org.bouncycastle.asn1.x509.Extension;

/**
 * Marks the issuer puts on certificates of the {@code issuer} authority that must never act as what
 * they resemble, as Teleport's {@code DisallowReissue} does; the issuer refuses a marked certificate
 * wherever the mark forbids it, whatever its serial or validity.
 *
 * <ul>
 *   <li>{@link #SCOPED_IDENTITY}: a role-scoped identity credential ({@code kind: identity} at
 *       {@code /v1/certificates}). It names the bot ({@code CN=bot-<name>} and its SPIFFE ID) for
 *       the relying parties it is handed to, carries the roles it was asked for and the instance that
 *       asked, and carries no bot identity extension: it never renews, never requests credentials,
 *       never sends heartbeats and never re-joins.
 *   <li>{@link #RENEWED_ADMIN}: an admin certificate minted by {@code /v1/admin/renew}. It names the
 *       certificate it was renewed from, so that a lock on that serial also refuses it, and it cannot
 *       renew again: a fresh admin certificate needs the authority key ({@code issuer admin
 *       reissue}).
 *   <li>{@link #ADMIN_ISSUED}: on every admin certificate the issuer signs, the exact instant it was
 *       signed (the certificate's {@code notBefore} is back-dated and whole seconds), so that an
 *       admin record created again refuses every certificate signed before it, with no allowance.
 * </ul>
 *
 * All are non-critical extensions holding a DER UTF8String of JSON, so TLS peers that do not know
 * them still accept the certificates.
 */
public final class CredentialMarks {
  /** {@code 2.25.<uuid>}: a role-scoped identity credential; not a bot identity. */
  public static final String SCOPED_IDENTITY = "2.25.277134957574040685128106529723977128733";
  /** {@code 2.25.<uuid>}: an admin certificate made by self-renewal; not renewable again. */
  public static final String RENEWED_ADMIN = "2.25.151724097032003040734905974727241396660";

  /** {@code 2.25.<uuid>}: when an admin certificate was signed, to the microsecond. */
  public static final String ADMIN_ISSUED = "2.25.192215136136261372178009719689765786966";

  private CredentialMarks() {}

  /** The mark of an admin certificate signed at {@code issuedAt}. */
  public static Extension adminIssued(java.time.Instant issuedAt) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("issued_at", issuedAt.toString());
    return extension(ADMIN_ISSUED, m);
  }

  /** When an admin certificate was signed, if it carries a parsable {@link #ADMIN_ISSUED} mark. */
  public static Optional<java.time.Instant> adminIssuedAt(X509Certificate certificate) {
    return read(certificate, ADMIN_ISSUED)
        .map(m -> m.get("issued_at"))
        .filter(String.class::isInstance)
        .flatMap(v -> {
          try {
            return Optional.of(java.time.Instant.parse((String) v));
          } catch (java.time.format.DateTimeParseException e) {
            return Optional.empty();
          }
        });
  }

  /** The mark of a role-scoped identity credential requested by {@code instanceId} for {@code roles}. */
  static Extension scopedIdentity(String instanceId, List<String> roles) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("scope", "roles");
    m.put("roles", roles);
    m.put("requested_by_instance", instanceId);
    m.put("reissue", false);
    return extension(SCOPED_IDENTITY, m);
  }

  /** The mark of an admin certificate renewed from the certificate with serial {@code fromSerial}. */
  public static Extension renewedAdmin(String fromSerial) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("renewed_from_serial", fromSerial);
    m.put("reissue", false);
    return extension(RENEWED_ADMIN, m);
  }

  /** True if the certificate carries the mark {@code oid}, parsable or not. */
  public static boolean has(X509Certificate certificate, String oid) {
    return certificate.getExtensionValue(oid) != null;
  }

  /** The serial an admin certificate was renewed from, if it carries the {@link #RENEWED_ADMIN} mark. */
  public static Optional<String> renewedFrom(X509Certificate certificate) {
    return read(certificate, RENEWED_ADMIN)
        .map(m -> m.get("renewed_from_serial"))
        .filter(String.class::isInstance)
        .map(String.class::cast);
  }

  private static Extension extension(String oid, Map<String, Object> content) {
    try {
      byte[] json = Protocol.writer().writeValueAsBytes(content);
      return new Extension(
          new ASN1ObjectIdentifier(oid),
          false,
          new DERUTF8String(new String(json, java.nio.charset.StandardCharsets.UTF_8))
              .getEncoded());
    } catch (IOException e) {
      throw new IllegalStateException("cannot encode the certificate mark " + oid, e);
    }
  }

  private static Optional<Map<String, Object>> read(X509Certificate certificate, String oid) {
    byte[] wrapped = certificate.getExtensionValue(oid);
    if (wrapped == null) {
      return Optional.empty();
    }
    try {
      ASN1Primitive inner =
          ASN1Primitive.fromByteArray(ASN1OctetString.getInstance(wrapped).getOctets());
      String json = DERUTF8String.getInstance(inner).getString();
      return Optional.of(Protocol.reader()
          .forType(new com.fasterxml.jackson.core.type.TypeReference<Map<String, Object>>() {})
          .readValue(json));
    } catch (JsonProcessingException e) {
      return Optional.empty();
    } catch (IOException | IllegalArgumentException e) {
      return Optional.empty();
    }
  }
}
