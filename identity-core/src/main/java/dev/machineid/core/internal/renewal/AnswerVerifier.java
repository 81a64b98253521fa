package dev.machineid.core.internal.renewal;

import com.fasterxml.jackson.databind.JsonNode;
import dev.machineid.core.AnswerRefusedException;
import dev.machineid.core.CredentialKind;
import dev.machineid.core.SpiffeId;
import dev.machineid.core.internal.tls.Tls;
import dev.machineid.core.protocol.IdentityExtension;
import java.math.BigInteger;
import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.security.spec.ECFieldFp;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.List;
import javax.security.auth.x500.X500Principal;

/**
 * Checks an issuer's answer before anything is stored, served or trusted (security invariant 18):
 * the chain verifies to an authority the client already trusts, the leaf is valid now, lives no
 * longer than asked, certifies the key the client sent, and names the expected bot, trust domain,
 * instance and generation. Stateless; every method throws {@link AnswerRefusedException} naming the
 * first rule the answer broke.
 */
public final class AnswerVerifier {
  /** The issuer back-dates {@code notBefore} by one minute to absorb clock skew (documented). */
  public static final Duration BACKDATE = Duration.ofMinutes(1);
  /** The longest bot identity any issuer may give (architecture.md §5: 24 h). */
  public static final Duration MAX_IDENTITY_TTL = Duration.ofHours(24);
  /** The longest role-scoped credential any issuer may give (1 h). */
  public static final Duration MAX_CREDENTIAL_TTL = Duration.ofHours(1);
  /** The most clock offset (issuer ahead of us) that excuses a {@code notBefore} in our future. */
  public static final Duration MAX_SKEW_ALLOWANCE = Duration.ofMinutes(5);
  /** Issuers write whole seconds. */
  private static final Duration ROUNDING = Duration.ofSeconds(1);

  private static final String CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";

  private AnswerVerifier() {}

  /**
   * What a bot identity answer must say.
   *
   * @param bot the bot the client holds, or {@code null} at a first join (then the answer's JSON names it)
   * @param trustDomain the trust domain of the held identity or of the authority document, or {@code null} if unknown
   * @param instanceId the instance the client holds, or {@code null} if a new instance is acceptable
   * @param generation the generation the answer must carry; for a join that may start a new instance, 1
   * @param rejoin true for a re-join: either the same instance at {@code generation} or a new instance at 1
   * @param ttl the lifetime the client asked for
   */
  public record IdentityExpectation(
      String bot,
      String trustDomain,
      String instanceId,
      long generation,
      boolean rejoin,
      Duration ttl) {}

  /**
   * Checks a bot identity answer.
   *
   * @param answerBot the {@code bot} of the answer's JSON
   * @param answerInstance the {@code instance_id} of the answer's JSON
   * @param answerGeneration the {@code generation} of the answer's JSON
   * @param chain the answer's chain, leaf first
   * @param key the public key the client asked to certify
   * @param trusted the authorities the client trusted before this answer
   * @param now the local time
   * @param clockOffset the issuer's clock minus ours, as measured at the last accepted answer
   * @return the SPIFFE ID the leaf names
   */
  public static SpiffeId verifyIdentity(
      String answerBot,
      String answerInstance,
      long answerGeneration,
      List<X509Certificate> chain,
      PublicKey key,
      Collection<X509Certificate> trusted,
      IdentityExpectation expected,
      Instant now,
      Duration clockOffset) {
    if (chain.isEmpty()) {
      throw refused("it holds no certificate chain");
    }
    X509Certificate leaf = chain.get(0);
    certifiesKey(leaf, key);
    validNow(leaf, now, clockOffset);
    Duration asked = min(expected.ttl(), MAX_IDENTITY_TTL);
    livesNoLongerThan(leaf, asked, "asked (" + expected.ttl() + ") and the 24h maximum");
    notAnAuthority(leaf);
    usableForClientAuth(leaf);
    chainsTo(chain, trusted, now, clockOffset, "an authority this client already trusts");
    if (answerBot == null || answerBot.isBlank()) {
      throw refused("it names no bot");
    }
    if (expected.bot() != null && !expected.bot().equals(answerBot)) {
      throw refused(
          "it is for bot '" + answerBot + "', but this identity is bot '" + expected.bot() + "'");
    }
    SpiffeId spiffe = spiffeIdOf(leaf);
    if (expected.trustDomain() != null && !expected.trustDomain().equals(spiffe.trustDomain())) {
      throw refused("its certificate names trust domain '" + spiffe.trustDomain()
          + "', but this identity's trust domain is '" + expected.trustDomain() + "'");
    }
    namesBot(leaf, spiffe, answerBot);
    if (answerInstance == null || answerInstance.isBlank()) {
      throw refused("it names no instance");
    }
    long wanted = expected.generation();
    if (expected.instanceId() != null && !expected.instanceId().equals(answerInstance)) {
      if (!expected.rejoin()) {
        throw refused("it is for instance " + answerInstance + ", but this identity is instance "
            + expected.instanceId());
      }
      wanted = 1;
    }
    if (answerGeneration != wanted) {
      throw refused(
          "it carries generation " + answerGeneration + ", but the next generation is " + wanted);
    }
    matchesExtension(leaf, answerInstance, answerGeneration);
    return spiffe;
  }

  /**
   * Checks an X.509 role-scoped credential: it certifies the key, chains to the authority of its
   * purpose, is valid now, lives no longer than asked (and 1 h), and no longer than the bot identity.
   */
  public static void verifyCredentialChain(
      CredentialKind kind,
      List<X509Certificate> chain,
      PublicKey key,
      Collection<X509Certificate> purposeAuthorities,
      Duration askedTtl,
      Instant botNotAfter,
      Instant now,
      Duration clockOffset) {
    if (chain.isEmpty()) {
      throw refused("the " + kind.wire() + " credential holds no certificate chain");
    }
    X509Certificate leaf = chain.get(0);
    certifiesKey(leaf, key);
    validNow(leaf, now, clockOffset);
    Duration asked = askedTtl == null ? MAX_CREDENTIAL_TTL : min(askedTtl, MAX_CREDENTIAL_TTL);
    livesNoLongerThan(leaf, asked, "asked and the 1h maximum for role-scoped credentials");
    if (botNotAfter != null && leaf.getNotAfter().toInstant().isAfter(botNotAfter.plus(ROUNDING))) {
      throw refused("the " + kind.wire() + " credential outlives the bot identity ("
          + leaf.getNotAfter().toInstant() + " > " + botNotAfter + ")");
    }
    notAnAuthority(leaf);
    chainsTo(
        chain,
        purposeAuthorities,
        now,
        clockOffset,
        "the " + kind.wire() + " authority of the trust bundle");
  }

  /** Checks the expiry of an SSH certificate or JWT answer: in the future, within what was asked and the bot's life. */
  public static void verifyNotAfter(
      CredentialKind kind,
      Instant notAfter,
      Duration askedTtl,
      Instant botNotAfter,
      Instant now,
      Duration clockOffset) {
    if (notAfter == null) {
      throw refused("the " + kind.wire() + " credential has no not_after");
    }
    if (!notAfter.isAfter(now)) {
      throw refused(
          "the " + kind.wire() + " credential expired at " + notAfter + " (now " + now + ")");
    }
    Duration asked = askedTtl == null ? MAX_CREDENTIAL_TTL : min(askedTtl, MAX_CREDENTIAL_TTL);
    if (notAfter.isAfter(now.plus(allowance(clockOffset)).plus(asked).plus(ROUNDING))) {
      throw refused("the " + kind.wire() + " credential lives until " + notAfter
          + ", longer than the " + asked + " asked");
    }
    if (botNotAfter != null && notAfter.isAfter(botNotAfter.plus(ROUNDING))) {
      throw refused("the " + kind.wire() + " credential outlives the bot identity (" + notAfter
          + " > " + botNotAfter + ")");
    }
  }

  /**
   * What a stored identity file says about itself, besides its chain.
   *
   * @param bot the file's {@code bot}
   * @param instanceId the file's {@code instance_id}
   * @param generation the file's {@code generation}
   * @param trustDomain the file's {@code authority.trust_domain}, or {@code null} if it kept none
   */
  public record StoredClaims(String bot, String instanceId, long generation, String trustDomain) {}

  /**
   * Checks a stored identity before it serves, by the rules a fresh answer meets: every CA
   * certificate of its stored trust bundle is one the CA pins vouch for ({@code pinned}: what
   * {@code PinningTrustManager.acceptAuthorities} keeps of it, as for a fresh {@code /v1/authority}
   * answer), its chain certifies {@code key} (if given) and verifies to those authorities, its leaf is
   * no authority and serves TLS clients, and the file's bot, instance, generation and trust domain
   * are what the certificate says. The file itself vouches for nothing.
   *
   * @param storedAuthorities the CA certificates of the stored bundle
   * @param pinned those of them the configured CA pins or CA file vouch for
   * @return the SPIFFE ID the leaf names
   */
  public static SpiffeId verifyStored(
      StoredClaims claims,
      List<X509Certificate> chain,
      PublicKey key,
      Collection<X509Certificate> storedAuthorities,
      Collection<X509Certificate> pinned,
      Instant now) {
    try {
      if (chain.isEmpty()) {
        throw refused("the stored identity holds no certificate chain");
      }
      for (X509Certificate a : storedAuthorities) {
        if (!pinned.contains(a)) {
          throw refused("its stored trust bundle holds the authority "
              + a.getSubjectX500Principal().getName()
              + " that no configured CA pin or CA file vouches for");
        }
      }
      X509Certificate leaf = chain.get(0);
      certifiesKey(leaf, key);
      notAnAuthority(leaf);
      usableForClientAuth(leaf);
      chainsTo(chain, pinned, now, Duration.ZERO, "an authority the configured CA pins vouch for");
      if (claims.bot() == null || claims.bot().isBlank()) {
        throw refused("it names no bot");
      }
      SpiffeId spiffe = spiffeIdOf(leaf);
      if (claims.trustDomain() != null && !claims.trustDomain().equals(spiffe.trustDomain())) {
        throw refused("its file names trust domain '" + claims.trustDomain()
            + "', but its certificate names '" + spiffe.trustDomain() + "'");
      }
      namesBot(leaf, spiffe, claims.bot());
      if (claims.instanceId() == null || claims.instanceId().isBlank()) {
        throw refused("it names no instance");
      }
      if (claims.generation() < 1) {
        throw refused("it carries generation " + claims.generation() + "; generations start at 1");
      }
      matchesExtension(leaf, claims.instanceId(), claims.generation());
      return spiffe;
    } catch (AnswerRefusedException e) {
      throw new AnswerRefusedException(
          "the stored identity is refused: "
              + e.getMessage().replaceFirst("^refused the issuer's answer: ", ""),
          e);
    }
  }

  /**
   * Checks the issuer's JSON Web Key Set: an object whose {@code keys} is an array of public keys,
   * each with a {@code kty} and the members of its type, EC points on their named curve; a missing
   * ({@code null}) set passes.
   */
  public static void verifyJwks(JsonNode jwks) {
    if (jwks == null || jwks.isNull() || jwks.isMissingNode()) {
      return;
    }
    if (!jwks.isObject() || !jwks.path("keys").isArray()) {
      throw refused("its JWKS is not a JSON object with a \"keys\" array");
    }
    int i = 0;
    for (JsonNode k : jwks.get("keys")) {
      String where = "its JWKS key " + i++;
      if (!k.isObject() || !k.path("kty").isTextual()) {
        throw refused(where + " is not an object with a \"kty\"");
      }
      if (k.has("d")) {
        throw refused(where + " holds private key material");
      }
      switch (k.get("kty").textValue()) {
        case "EC" -> ecPointOnCurve(where, k);
        case "OKP" -> {
          int len =
              switch (k.path("crv").asText()) {
                case "Ed25519", "X25519" -> 32;
                case "X448" -> 56;
                case "Ed448" -> 57;
                default ->
                  throw refused(
                      where + " has an unknown OKP curve '" + k.path("crv").asText() + "'");
              };
          if (base64Url(where, k, "x").length != len) {
            throw refused(where + " has an \"x\" of the wrong length");
          }
        }
        case "RSA" -> {
          if (new BigInteger(1, base64Url(where, k, "n")).bitLength() < 2048
              || new BigInteger(1, base64Url(where, k, "e")).signum() <= 0) {
            throw refused(where + " is not a usable RSA public key");
          }
        }
        default -> throw refused(where + " has an unknown kty '" + k.get("kty").textValue() + "'");
      }
    }
  }

  private static void ecPointOnCurve(String where, JsonNode k) {
    String curve =
        switch (k.path("crv").asText()) {
          case "P-256" -> "secp256r1";
          case "P-384" -> "secp384r1";
          case "P-521" -> "secp521r1";
          default ->
            throw refused(where + " has an unknown EC curve '" + k.path("crv").asText() + "'");
        };
    BigInteger x = new BigInteger(1, base64Url(where, k, "x"));
    BigInteger y = new BigInteger(1, base64Url(where, k, "y"));
    try {
      AlgorithmParameters ap = AlgorithmParameters.getInstance("EC");
      ap.init(new ECGenParameterSpec(curve));
      ECParameterSpec spec = ap.getParameterSpec(ECParameterSpec.class);
      BigInteger p = ((ECFieldFp) spec.getCurve().getField()).getP();
      BigInteger a = spec.getCurve().getA();
      BigInteger b = spec.getCurve().getB();
      boolean inField = x.compareTo(p) < 0 && y.compareTo(p) < 0;
      BigInteger lhs = y.modPow(BigInteger.TWO, p);
      BigInteger rhs = x.pow(3).add(a.multiply(x)).add(b).mod(p);
      if (!inField || !lhs.equals(rhs)) {
        throw refused(where + " is not a point on " + k.path("crv").asText());
      }
    } catch (GeneralSecurityException e) {
      throw refused(where + ": curve " + curve + " is not available: " + e.getMessage());
    }
  }

  private static byte[] base64Url(String where, JsonNode k, String member) {
    JsonNode v = k.get(member);
    if (v == null || !v.isTextual()) {
      throw refused(where + " has no \"" + member + "\"");
    }
    try {
      return Base64.getUrlDecoder().decode(v.textValue());
    } catch (IllegalArgumentException e) {
      throw refused(where + " has an \"" + member + "\" that is not base64url");
    }
  }

  // ---------------------------------------------------------------- rules

  private static void certifiesKey(X509Certificate leaf, PublicKey key) {
    if (key != null && !leaf.getPublicKey().equals(key)) {
      throw refused("its certificate certifies another public key than the one this client sent");
    }
  }

  private static Duration allowance(Duration clockOffset) {
    if (clockOffset == null || clockOffset.isNegative()) {
      return Duration.ZERO;
    }
    return min(clockOffset, MAX_SKEW_ALLOWANCE);
  }

  private static void validNow(X509Certificate leaf, Instant now, Duration clockOffset) {
    Instant notBefore = leaf.getNotBefore().toInstant();
    Instant notAfter = leaf.getNotAfter().toInstant();
    if (!notAfter.isAfter(now)) {
      throw refused("its certificate expired at " + notAfter + " (now " + now
          + "); the issuer's clock may be wrong");
    }
    if (notBefore.isAfter(now.plus(allowance(clockOffset)))) {
      throw refused("its certificate is not valid before " + notBefore + " (now " + now
          + ", measured clock offset " + clockOffset + "); the issuer's clock may be wrong");
    }
  }

  private static void livesNoLongerThan(X509Certificate leaf, Duration asked, String what) {
    Duration life =
        Duration.between(leaf.getNotBefore().toInstant(), leaf.getNotAfter().toInstant());
    if (life.compareTo(asked.plus(BACKDATE).plus(ROUNDING)) > 0) {
      throw refused("its certificate lives " + life + ", longer than " + what + " plus the "
          + BACKDATE + " back-dating");
    }
  }

  private static void notAnAuthority(X509Certificate leaf) {
    if (leaf.getBasicConstraints() >= 0) {
      throw refused("its leaf certificate is a CA certificate");
    }
  }

  private static void usableForClientAuth(X509Certificate leaf) {
    try {
      List<String> eku = leaf.getExtendedKeyUsage();
      if (eku != null && !eku.contains(CLIENT_AUTH)) {
        throw refused(
            "its certificate is not usable for TLS client authentication (no clientAuth extended key usage)");
      }
    } catch (CertificateParsingException e) {
      throw refused("its certificate's extended key usage does not parse: " + e.getMessage());
    }
  }

  private static void chainsTo(
      List<X509Certificate> chain,
      Collection<X509Certificate> anchors,
      Instant now,
      Duration clockOffset,
      String what) {
    if (anchors == null || anchors.isEmpty()) {
      throw refused("there is no trusted authority to verify it against");
    }
    X509Certificate leaf = chain.get(0);
    // judged at now, or at notBefore if that is within the allowed clock skew (validNow checked
    // that)
    Instant at =
        leaf.getNotBefore().toInstant().isAfter(now) ? leaf.getNotBefore().toInstant() : now;
    List<X509Certificate> path = new ArrayList<>(chain);
    try {
      Tls.validate(path, anchors, at);
      if (anchors.contains(leaf)) {
        throw refused("its leaf certificate is itself a trusted authority");
      }
    } catch (CertificateException e) {
      throw refused("its certificate chain does not verify to " + what + ": " + e.getMessage());
    }
  }

  private static void namesBot(X509Certificate leaf, SpiffeId spiffe, String bot) {
    if (!spiffe.equals(SpiffeId.forBot(spiffe.trustDomain(), bot))) {
      throw refused(
          "its certificate names " + spiffe + ", not bot '" + bot + "' that the answer states");
    }
    String cn = commonName(leaf.getSubjectX500Principal());
    if (cn != null && !cn.equals("bot-" + bot)) {
      throw refused("its certificate's subject CN=" + cn + " is not bot '" + bot
          + "' that the answer states");
    }
  }

  private static void matchesExtension(X509Certificate leaf, String instance, long generation) {
    IdentityExtension.from(leaf).ifPresent(ext -> {
      if (!instance.equals(ext.instanceId()) || ext.generation() != generation) {
        throw refused("its certificate says instance " + ext.instanceId() + " generation "
            + ext.generation() + ", but the answer says instance " + instance + " generation "
            + generation);
      }
    });
  }

  static SpiffeId spiffeIdOf(X509Certificate leaf) {
    try {
      Collection<List<?>> sans = leaf.getSubjectAlternativeNames();
      SpiffeId found = null;
      if (sans != null) {
        for (List<?> san : sans) {
          if (Integer.valueOf(6).equals(san.get(0))
              && String.valueOf(san.get(1)).startsWith("spiffe://")) {
            if (found != null) {
              throw refused("its certificate carries more than one SPIFFE ID");
            }
            found = SpiffeId.parse(String.valueOf(san.get(1)));
          }
        }
      }
      if (found == null) {
        throw refused("its certificate carries no SPIFFE ID");
      }
      return found;
    } catch (CertificateParsingException | IllegalArgumentException e) {
      throw refused("its certificate's SPIFFE ID does not parse: " + e.getMessage());
    }
  }

  private static final java.util.regex.Pattern CN =
      java.util.regex.Pattern.compile("(?:^|,)CN=((?:[^,\\\\]|\\\\.)*)");

  /** The subject's CN in RFC 2253 form, or {@code null}; several CNs read as an impossible name. */
  private static String commonName(X500Principal subject) {
    java.util.regex.Matcher m = CN.matcher(subject.getName(X500Principal.RFC2253));
    String cn = null;
    while (m.find()) {
      if (cn != null) {
        return "(several)";
      }
      cn = m.group(1);
    }
    return cn;
  }

  private static Duration min(Duration a, Duration b) {
    return a.compareTo(b) <= 0 ? a : b;
  }

  private static AnswerRefusedException refused(String why) {
    return new AnswerRefusedException("refused the issuer's answer: " + why);
  }
}
