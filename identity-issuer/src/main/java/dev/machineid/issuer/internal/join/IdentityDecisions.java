package dev.machineid.issuer.internal.join;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.machineid.core.ErrorCode;
import dev.machineid.core.protocol.Authority;
import dev.machineid.core.protocol.ChallengeRequest;
import dev.machineid.core.protocol.ChallengeResponse;
import dev.machineid.core.protocol.HeartbeatRequest;
import dev.machineid.core.protocol.IdentityExtension;
import dev.machineid.core.protocol.IdentityResponse;
import dev.machineid.core.protocol.JoinRequest;
import dev.machineid.core.protocol.Pem;
import dev.machineid.core.protocol.Protocol;
import dev.machineid.core.protocol.RenewRequest;
import dev.machineid.issuer.Authentication;
import dev.machineid.issuer.Bot;
import dev.machineid.issuer.Heartbeat;
import dev.machineid.issuer.IssuerStore;
import dev.machineid.issuer.IssuerStore.CallerRecord;
import dev.machineid.issuer.IssuerStore.InstanceRecord;
import dev.machineid.issuer.IssuerStore.LockKey;
import dev.machineid.issuer.Lock;
import dev.machineid.issuer.Role;
import dev.machineid.issuer.internal.Hashes;
import dev.machineid.issuer.internal.Json;
import dev.machineid.issuer.internal.ProblemException;
import dev.machineid.issuer.internal.Text;
import dev.machineid.issuer.internal.audit.Auditor;
import dev.machineid.issuer.internal.authority.CertificateAuthority;
import dev.machineid.issuer.internal.authority.CredentialMarks;
import dev.machineid.issuer.internal.authority.Keys;
import dev.machineid.issuer.internal.authority.SshAuthorities;
import dev.machineid.issuer.internal.http.ClientCertificates;
import dev.machineid.issuer.internal.http.Requests;
import dev.machineid.issuer.internal.ssh.SshCertificateRequest;
import dev.machineid.issuer.join.JoinAttempt;
import dev.machineid.issuer.join.JoinRejectedException;
import dev.machineid.issuer.join.JoinVerifier;
import dev.machineid.issuer.join.TokenConsumption;
import dev.machineid.issuer.join.VerifiedJoin;
import java.nio.charset.StandardCharsets;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The protocol's decisions: challenges, joins, renewals, heartbeats. Transport-free: the HTTP
 * handler passes parsed bodies, the verified TLS peer chain and the remote address. Every refusal is
 * a {@link ProblemException}; joins and authenticated calls audit their failures with the reason.
 */
public final class IdentityDecisions {
  private static final Logger LOG = LoggerFactory.getLogger(IdentityDecisions.class);
  private static final int CAS_ATTEMPTS = 4;

  private final String trustDomain;
  private final Duration defaultTtl;
  private final Duration maxTtl;
  private final Clock clock;
  private final SecureRandom random;
  private final IssuerStore store;
  private final CertificateAuthority ca;
  private final Challenges challenges;
  private final Map<String, JoinVerifier> verifiers;
  private final Auditor audit;
  private final Authority authority;
  /** Signs the bot's own SSH certificate at join and renewal; {@code null}: none is issued. */
  private final SshAuthorities ssh;

  public IdentityDecisions(
      String trustDomain,
      Duration defaultTtl,
      Duration maxTtl,
      Clock clock,
      SecureRandom random,
      IssuerStore store,
      CertificateAuthority ca,
      Challenges challenges,
      Map<String, JoinVerifier> verifiers,
      Auditor audit) {
    this.trustDomain = trustDomain;
    this.defaultTtl = defaultTtl;
    this.maxTtl = maxTtl;
    this.clock = clock;
    this.random = random;
    this.store = store;
    this.ca = ca;
    this.challenges = challenges;
    this.verifiers = Map.copyOf(verifiers);
    this.audit = audit;
    this.authority = new Authority(
        trustDomain,
        List.of(Pem.encode(ca.certificate())),
        List.of(),
        List.of(),
        List.of(),
        List.of(),
        List.of(),
        List.of(),
        Protocol.nodes().objectNode().set("keys", Protocol.nodes().arrayNode()));
    this.ssh = null;
  }

  /** The same engine serving a trust bundle with every purpose's authority. */
  private IdentityDecisions(IdentityDecisions base, Authority authority, SshAuthorities ssh) {
    this.trustDomain = base.trustDomain;
    this.defaultTtl = base.defaultTtl;
    this.maxTtl = base.maxTtl;
    this.clock = base.clock;
    this.random = base.random;
    this.store = base.store;
    this.ca = base.ca;
    this.challenges = base.challenges;
    this.verifiers = base.verifiers;
    this.audit = base.audit;
    this.authority = authority;
    this.ssh = ssh;
  }

  /** This engine, publishing {@code authority} at {@code /v1/authority} and in every answer. */
  public IdentityDecisions withAuthority(Authority authority) {
    return new IdentityDecisions(this, authority, ssh);
  }

  /**
   * This engine, signing an SSH user certificate for the bot's logins with {@code ssh}'s user
   * authority when a join or renewal sends {@code ssh_public_key}.
   */
  public IdentityDecisions withSshAuthorities(SshAuthorities ssh) {
    return new IdentityDecisions(this, authority, Objects.requireNonNull(ssh, "ssh"));
  }

  String trustDomain() {
    return trustDomain;
  }

  Clock clock() {
    return clock;
  }

  IssuerStore store() {
    return store;
  }

  Auditor audit() {
    return audit;
  }

  CertificateAuthority ca() {
    return ca;
  }

  public Authority authority() {
    return authority;
  }

  public Map<String, JoinVerifier> verifiers() {
    return verifiers;
  }

  // ---------------------------------------------------------------- challenge

  public ChallengeResponse challenge(ObjectNode body) {
    ChallengeRequest request = Requests.read(body, ChallengeRequest.class);
    PublicKey key = Keys.parse(request.publicKey());
    verifier(request.joinMethod());
    Challenges.Issued issued = challenges.issue(
        request.token(), request.joinMethod(), Keys.spkiSha256(key), clock.instant());
    return new ChallengeResponse(issued.challenge(), issued.expiresAt());
  }

  private JoinVerifier verifier(String method) {
    JoinVerifier v = verifiers.get(method);
    if (v == null) {
      throw ProblemException.of(
          ErrorCode.UNKNOWN_JOIN_METHOD,
          "unknown join method '" + printable(method) + "'; this issuer accepts "
              + verifiers.keySet());
    }
    return v;
  }

  // ---------------------------------------------------------------- join

  /**
   * The bot of the token a refused join named, so that the refusal is in that bot's audit trail
   * ({@code issuer audit --bot}); {@code null} when the body names no stored token.
   */
  private String botOfToken(ObjectNode body) {
    try {
      com.fasterxml.jackson.databind.JsonNode t = body.get("token");
      if (t == null || !t.isTextual() || t.textValue().isEmpty()) {
        return null;
      }
      String id = Hashes.tokenId(t.textValue());
      return store.findToken(id).map(dev.machineid.issuer.Token::bot).orElse(null);
    } catch (RuntimeException e) {
      LOG.debug("cannot look up the bot of a refused join's token: {}", e.toString());
      return null;
    }
  }

  /**
   * A join, step by step: parse the body, redeem the challenge, check possession of the key,
   * verify the proof, resolve the bot and the locks on it, find the instance a re-join re-attests
   * (or refuse a proof bound to another live instance), issue, then persist and audit. Each step
   * is a method with a typed result; any refusal is audited with what was known by then.
   */
  public Answer join(ObjectNode body, String remote, X509Certificate[] peer) {
    Map<String, String> detail = new LinkedHashMap<>();
    detail.put("remote_address", remote);
    String bot = null;
    try {
      JoinInput in = parseJoin(body, detail);
      Instant now = clock.instant();
      redeemChallenge(in, now);
      checkPossession(in);
      X509Certificate presented = authenticateQuietly(peer, now);
      VerifiedJoin verified = verifyProof(in, remote, presented, now);
      bot = verified.botName();
      detail.putAll(prefixed(verified.metadata()));
      Bot botRecord = resolveBot(verified, now);
      JoinTarget target = target(in, presented, botRecord, verified, now);
      Issued issued = issue(
          botRecord,
          target.instanceId(),
          target.generation(),
          in.method(),
          in.key(),
          in.sshKey(),
          in.ttl(),
          now);
      describeJoin(target, issued, in.ttl(), detail);
      persistJoin(target, botRecord, in, verified, issued, now, remote, detail);
      return issued.answer();
    } catch (ProblemException e) {
      detail.put("code", e.code().code());
      detail.put("reason", e.getMessage());
      audit.failure(
          "join", bot != null ? bot : e.bot() != null ? e.bot() : botOfToken(body), null, detail);
      LOG.info(
          "join refused ({}): {} [remote {}, token {}]",
          e.code().code(),
          e.getMessage(),
          remote,
          detail.getOrDefault("token_id", "-"));
      throw e;
    }
  }

  /** A join body read into its record and checked: the key, the SSH key, the TTL and the decoded challenge signature. */
  private record JoinInput(
      JoinRequest request,
      JoinVerifier verifier,
      PublicKey key,
      String sshKey,
      Duration ttl,
      byte[] signature) {
    String method() {
      return request.joinMethod();
    }
  }

  /** Where a join's credentials go: a new instance at generation 1, or the instance a re-join re-attests at its next generation. */
  private record JoinTarget(String instanceId, long generation, InstanceRecord rejoined) {
    boolean rejoin() {
      return rejoined != null;
    }
  }

  /** Step 1: the body as a {@link JoinRequest}, its join method known to this issuer, and its values parsed. */
  private JoinInput parseJoin(ObjectNode body, Map<String, String> detail) {
    JoinRequest request = Requests.read(body, JoinRequest.class);
    detail.put("join_method", printable(request.joinMethod()));
    if (request.token() != null) {
      detail.put("token_id", Hashes.hint(request.token()));
    }
    JoinVerifier verifier = verifier(request.joinMethod());
    PublicKey key = Keys.parse(request.publicKey());
    String sshKey = sshPublicKey(request.sshPublicKey(), key);
    Duration ttl = Json.ttl(request.ttl(), "ttl", defaultTtl, maxTtl);
    byte[] signature;
    try {
      signature = Base64.getDecoder().decode(request.challengeSignature());
    } catch (IllegalArgumentException e) {
      throw Json.malformed("challenge_signature must be standard base64");
    }
    return new JoinInput(request, verifier, key, sshKey, ttl, signature);
  }

  /** Step 2: the challenge is this issuer's, unexpired, for this token, method and key, and redeemed before any other verification, so that it is used once across replicas. */
  private void redeemChallenge(JoinInput in, Instant now) {
    Challenges.Checked checked = challenges.check(
        in.request().challenge(),
        in.request().token(),
        in.method(),
        Keys.spkiSha256(in.key()),
        now);
    if (!store.insertUsedChallenge(checked.nonce(), checked.expiresAt())) {
      throw new ProblemException(
          ErrorCode.CHALLENGE_INVALID,
          "the challenge was already used; ask for a new one",
          "challenge replayed");
    }
  }

  /** Step 3: the challenge signature proves possession of the private key of {@code public_key}. */
  private static void checkPossession(JoinInput in) {
    if (!Keys.verify(
        in.key(), in.request().challenge().getBytes(StandardCharsets.UTF_8), in.signature())) {
      throw new ProblemException(
          ErrorCode.PROOF_REJECTED,
          "the join was refused",
          "challenge_signature does not verify with public_key (no proof of possession)");
    }
  }

  /** Step 4: the join method's verifier accepts the proof; a single-use token is consumed on the way ({@link #consumeUnlessLocked}). */
  private VerifiedJoin verifyProof(
      JoinInput in, String remote, X509Certificate presented, Instant now) {
    JsonNode proof = in.request().proof();
    ObjectNode proofObject =
        proof instanceof ObjectNode o ? o : Protocol.nodes().objectNode();
    try {
      return in.verifier()
          .verify(new JoinAttempt(
              in.method(),
              in.request().token(),
              proofObject,
              in.key(),
              in.request().challenge(),
              remote,
              presented,
              now,
              (t, m) -> consumeUnlessLocked(Hashes.tokenId(t), m, now)));
    } catch (JoinRejectedException e) {
      throw new ProblemException(e.code(), clientText(e.code()), e.reason());
    }
  }

  /** Step 5: the bot the proof names exists, and no lock applies to it, the token or the attested identity. */
  private Bot resolveBot(VerifiedJoin verified, Instant now) {
    String bot = verified.botName();
    Bot botRecord = store.findBot(bot).orElse(null);
    if (botRecord == null) {
      throw new ProblemException(
          ErrorCode.PROOF_REJECTED,
          "the join was refused",
          "bot '" + bot + "' named by the token does not exist");
    }
    checkLocks(
        List.of(
            new LockKey(Lock.Target.BOT, bot),
            new LockKey(Lock.Target.TOKEN, verified.tokenId()),
            new LockKey(Lock.Target.IDENTITY, verified.attestedIdentity())),
        now);
    return botRecord;
  }

  /**
   * Step 6: a re-join (docs/architecture.md §6), where the current certificate of an instance with
   * the same attested identity keeps that instance, if it is neither locked nor its serial; else a
   * new instance, refused while a proof bound on first use has a live instance.
   */
  private JoinTarget target(
      JoinInput in, X509Certificate presented, Bot botRecord, VerifiedJoin verified, Instant now) {
    InstanceRecord rejoined = rejoinTarget(presented, botRecord.name(), in.method(), verified);
    if (rejoined != null) {
      checkLocks(
          List.of(
              new LockKey(Lock.Target.INSTANCE, rejoined.id()),
              new LockKey(Lock.Target.SERIAL, rejoined.serial())),
          now);
      return new JoinTarget(rejoined.id(), rejoined.generation() + 1, rejoined);
    }
    if (in.verifier().bindsOnFirstUse()) {
      refuseIfBound(verified, now);
    }
    return new JoinTarget(UUID.randomUUID().toString(), 1, null);
  }

  /** What the join's audit event says about the issued credentials (step 7's result). */
  private static void describeJoin(
      JoinTarget target, Issued issued, Duration ttl, Map<String, String> detail) {
    if (target.rejoin()) {
      detail.put("rejoin", "true");
    }
    detail.put("serial", issued.serial());
    detail.put("generation", Long.toString(target.generation()));
    detail.put("ttl", ttl.toString());
    issued.describeSsh(detail);
  }

  /**
   * Step 8: stores the new instance, or advances the re-joined one, together with the join's audit
   * event, in one transaction ordered against revocations: nothing commits if the bot was deleted
   * or a lock on it, the token, the identity (or the re-joined instance) committed since the checks.
   */
  private void persistJoin(
      JoinTarget target,
      Bot botRecord,
      JoinInput in,
      VerifiedJoin verified,
      Issued issued,
      Instant now,
      String remote,
      Map<String, String> detail) {
    String method = in.method();
    String keyHash = Keys.spkiSha256Hex(in.key());
    Authentication auth =
        new Authentication(now, remote, method, target.generation(), verified.metadata());
    if (target.rejoin()) {
      InstanceRecord row = target.rejoined();
      boolean advanced = store.inTransaction(tx -> {
        revalidate(tx, row.id(), row.serial(), now);
        if (!tx.compareAndSetGeneration(
            row.id(),
            row.generation(),
            target.generation(),
            keyHash,
            issued.json(),
            issued.serial(),
            auth)) {
          return false;
        }
        audit.success(tx, "join", row.bot(), row.id(), detail);
        return true;
      });
      if (!advanced) {
        throw new ProblemException(
            ErrorCode.GENERATION_MISMATCH,
            "concurrent renewals of one instance; retry",
            "re-join lost the compare-and-set on instance " + row.id());
      }
      LOG.info(
          "bot '{}' instance {} re-joined with method {} at generation {} from {} (serial {})",
          row.bot(),
          row.id(),
          method,
          target.generation(),
          remote,
          issued.serial());
      return;
    }
    String joined = botRecord.name();
    String instanceId = target.instanceId();
    InstanceRecord row = new InstanceRecord(
        instanceId,
        joined,
        method,
        verified.tokenId(),
        verified.attestedIdentity(),
        now,
        1,
        keyHash,
        issued.json(),
        issued.serial(),
        auth,
        auth,
        null);
    store.inTransaction(tx -> {
      tx.awaitRevocations();
      if (tx.findBot(joined).isEmpty()) {
        throw new ProblemException(
            ErrorCode.PROOF_REJECTED,
            "the join was refused",
            "bot '" + joined + "' was deleted before the join committed");
      }
      refuseIfLocked(tx.findActiveLocks(
          List.of(
              new LockKey(Lock.Target.BOT, joined),
              new LockKey(Lock.Target.TOKEN, verified.tokenId()),
              new LockKey(Lock.Target.IDENTITY, verified.attestedIdentity())),
          now));
      if (!tx.insertInstance(row)) {
        throw new IllegalStateException("instance id collision " + instanceId);
      }
      audit.success(tx, "join", joined, instanceId, detail);
      return null;
    });
    LOG.info(
        "bot '{}' joined with method {} as instance {} from {} (serial {})",
        joined,
        method,
        instanceId,
        remote,
        issued.serial());
  }

  /**
   * Consumes a single-use token unless its bot, the token or the identity it attests is locked: the
   * consumption and the lock check share one transaction, so a join refused for a lock leaves the
   * token unused and it joins once the lock is lifted. The consumption names the token's bot; a
   * refusal for a lock carries it ({@link ProblemException#bot()}) into the audit trail.
   */
  private TokenConsumption consumeUnlessLocked(String tokenId, String method, Instant now) {
    return store.inTransaction(tx -> {
      TokenConsumption c = tx.consumeToken(tokenId, method, now);
      if (c.outcome() == TokenConsumption.Outcome.CONSUMED && c.botName() != null) {
        try {
          refuseIfLocked(tx.findActiveLocks(
              List.of(
                  new LockKey(Lock.Target.BOT, c.botName()),
                  new LockKey(Lock.Target.TOKEN, tokenId),
                  new LockKey(
                      Lock.Target.IDENTITY, TokenVerifierProvider.attestedIdentity(tokenId))),
              now));
        } catch (ProblemException e) {
          throw e.concerning(c.botName());
        }
      }
      return c;
    });
  }

  /** The instance a join re-attests: the presented certificate is its current one, same bot, method and identity. */
  private InstanceRecord rejoinTarget(
      X509Certificate presented, String bot, String method, VerifiedJoin verified) {
    if (presented == null || !("bot-" + bot).equals(CertificateAuthority.commonName(presented))) {
      return null;
    }
    IdentityExtension ext = IdentityExtension.from(presented).orElse(null);
    InstanceRecord row = ext == null || ext.instanceId() == null
        ? null
        : store.findInstance(ext.instanceId()).orElse(null);
    if (row == null
        || !row.bot().equals(bot)
        || !row.joinMethod().equals(method)
        || !row.attestedIdentity().equals(verified.attestedIdentity())
        || !row.serial().equals(CertificateAuthority.serialHex(presented))) {
      return null;
    }
    return row;
  }

  /** A proof bound on first use (docs/architecture.md §6) is refused while an instance it created is live, except as that instance's re-join. */
  private void refuseIfBound(VerifiedJoin verified, Instant now) {
    for (InstanceRecord r : store.instancesWithIdentity(verified.attestedIdentity())) {
      if (readCredentials(r.credentialsJson()).notAfter().isAfter(now)) {
        throw new ProblemException(
            ErrorCode.PROOF_REJECTED,
            "the join was refused",
            "rule=first_use: " + verified.attestedIdentity() + " is bound to live instance "
                + r.id() + " of bot '" + r.bot()
                + "'; only a re-join over mTLS with that instance's certificate may present it again");
      }
    }
  }

  // ---------------------------------------------------------------- renew

  /**
   * A renewal, step by step: authorise the caller, check its join method renews, parse the body,
   * then try the renewal against the instance as stored ({@link #renewFrom}), reading it again
   * after a compare-and-set lost to a concurrent renewal.
   */
  public Answer renew(ObjectNode body, String remote, X509Certificate[] peer) {
    Map<String, String> detail = new LinkedHashMap<>();
    detail.put("remote_address", remote);
    Instant now = clock.instant();
    Caller caller = null;
    try {
      caller = authorise(peer, now, detail);
      requireRenewable(caller);
      RenewInput in = parseRenew(body, caller);
      InstanceRecord row = caller.instance();
      for (int attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
        Answer answer = renewFrom(row, caller, in, now, remote, detail);
        if (answer != null) {
          return answer;
        }
        row = store
            .findInstance(row.id())
            .orElseThrow(() -> ProblemException.of(
                ErrorCode.UNAUTHENTICATED, "the bot instance no longer exists"));
      }
      throw new ProblemException(
          ErrorCode.GENERATION_MISMATCH,
          "concurrent renewals of one instance; retry",
          "compare-and-set lost " + CAS_ATTEMPTS + " times");
    } catch (ProblemException e) {
      detail.put("code", e.code().code());
      detail.put("reason", e.getMessage());
      audit.failure(
          "renew",
          caller == null ? null : caller.bot(),
          caller == null ? null : caller.instance().id(),
          detail);
      LOG.info("renewal refused ({}): {} [remote {}]", e.code().code(), e.getMessage(), remote);
      throw e;
    }
  }

  /** A renewal body read into its record and checked against the presented certificate. */
  private record RenewInput(
      long presented, PublicKey key, String sshKey, Duration ttl, String keyHash) {}

  private void requireRenewable(Caller caller) {
    JoinVerifier v = verifiers.get(caller.instance().joinMethod());
    if (v == null || !v.renewable()) {
      throw new ProblemException(
          ErrorCode.PROOF_REJECTED,
          "this bot cannot renew; join again",
          "join method '" + caller.instance().joinMethod() + "' is not renewable");
    }
  }

  private RenewInput parseRenew(ObjectNode body, Caller caller) {
    RenewRequest request = Requests.read(body, RenewRequest.class);
    long presented = request.generation();
    PublicKey key = Keys.parse(request.publicKey());
    String sshKey = sshPublicKey(request.sshPublicKey(), key);
    Duration ttl = Json.ttl(request.ttl(), "ttl", defaultTtl, maxTtl);
    if (presented != caller.extension().generation()) {
      throw ProblemException.of(
          ErrorCode.MALFORMED_REQUEST,
          "generation " + presented + " in the body differs from generation "
              + caller.extension().generation() + " of the presented certificate");
    }
    return new RenewInput(presented, key, sshKey, ttl, Keys.spkiSha256Hex(key));
  }

  /**
   * One attempt against the instance as last read: the current certificate advances it; the
   * certificate just superseded with the same key is a retry of a lost answer and gets it again; a
   * certificate the issuer never recorded as current is refused; an older one is a copy, which
   * locks the instance. {@code null} if the compare-and-set lost to a concurrent renewal.
   */
  private Answer renewFrom(
      InstanceRecord row,
      Caller caller,
      RenewInput in,
      Instant now,
      String remote,
      Map<String, String> detail) {
    long stored = row.generation();
    long presented = in.presented();
    if (presented == stored && caller.serial().equals(row.serial())) {
      return advance(row, caller, in, now, remote, detail);
    }
    if (presented == stored - 1 && in.keyHash().equals(row.publicKeyHash())) {
      return resend(row, now, detail);
    }
    if (presented >= stored) {
      // a certificate of this instance that the issuer never recorded as its current one (a
      // copy made by an earlier issuer version's identity credentials): it renews nothing, and
      // its holder cannot lock the instance out either
      throw new ProblemException(
          ErrorCode.UNAUTHENTICATED,
          "the client certificate is not the bot instance's current certificate",
          "certificate of generation " + presented + " with serial " + caller.serial()
              + " is not the recorded certificate (serial " + row.serial() + ") of instance "
              + row.id());
    }
    String reason = "stale generation " + presented + " presented (stored " + stored + ") "
        + (presented == stored - 1 ? "with a different public key" : "")
        + "; the instance's certificate may have been copied";
    lockInstance(row, caller, reason, remote, now);
    throw new ProblemException(
        ErrorCode.GENERATION_MISMATCH,
        "the generation does not match; the bot instance is now locked",
        reason);
  }

  /** Issues the next generation and advances the instance to it; {@code null} if the compare-and-set lost. */
  private Answer advance(
      InstanceRecord row,
      Caller caller,
      RenewInput in,
      Instant now,
      String remote,
      Map<String, String> detail) {
    long stored = row.generation();
    long next = stored + 1;
    Issued issued = issue(
        caller.botRecord(), row.id(), next, row.joinMethod(), in.key(), in.sshKey(), in.ttl(), now);
    Authentication auth = new Authentication(now, remote, row.joinMethod(), next, Map.of());
    Map<String, String> renewed = new LinkedHashMap<>(detail);
    renewed.put("generation", Long.toString(next));
    renewed.put("serial", issued.serial());
    renewed.put("ttl", in.ttl().toString());
    issued.describeSsh(renewed);
    String serial = caller.serial();
    // The re-check, the compare-and-set and its audit event commit together, ordered against
    // revocations: nothing is issued after a lock or the bot's deletion commits.
    boolean advanced = store.inTransaction(tx -> {
      revalidate(tx, row.id(), serial, now);
      if (!tx.compareAndSetGeneration(
          row.id(), stored, next, in.keyHash(), issued.json(), issued.serial(), auth)) {
        return false;
      }
      audit.success(tx, "renew", row.bot(), row.id(), renewed);
      return true;
    });
    if (!advanced) {
      return null;
    }
    LOG.info(
        "bot '{}' instance {} renewed to generation {} (serial {})",
        row.bot(),
        row.id(),
        next,
        issued.serial());
    return issued.answer();
  }

  /** A retry of a renewal whose answer was lost: the credentials already issued, sent again. */
  private Answer resend(InstanceRecord row, Instant now, Map<String, String> detail) {
    long stored = row.generation();
    IdentityResponse previous = readCredentials(row.credentialsJson());
    detail.put("generation", Long.toString(stored));
    detail.put("serial", row.serial());
    detail.put("retry", "true");
    audit.success("renew", row.bot(), row.id(), detail);
    LOG.info(
        "bot '{}' instance {} retried the renewal to generation {}; the same credentials were sent again",
        row.bot(),
        row.id(),
        stored);
    IdentityResponse again = new IdentityResponse(
        previous.bot(),
        previous.instanceId(),
        previous.generation(),
        previous.certificateChain(),
        previous.sshCertificate(),
        previous.notAfter(),
        previous.renewAfter(),
        now,
        authority);
    return new Answer(writeCredentials(again));
  }

  /**
   * Refuses a call (a credential request or a heartbeat) made with anything but the instance's
   * current bot certificate, its recorded serial (docs/architecture.md §11, invariant 13). A superseded certificate is handled
   * as a stale renewal would be: one more than a generation behind is a copy, which locks the
   * instance; the certificate just superseded is refused without a lock, because the bot itself
   * presents it while it retries a renewal whose answer was lost; any other certificate of the
   * instance was never its current one and is refused. Each refusal is audited by the caller.
   */
  void requireCurrent(Caller caller, Instant now, String remote) {
    InstanceRecord row = caller.instance();
    if (caller.serial().equals(row.serial())) {
      return;
    }
    long presented = caller.extension().generation();
    long stored = row.generation();
    if (presented < stored - 1) {
      String reason = "superseded certificate of generation " + presented + " presented (stored "
          + stored + "); the instance's certificate may have been copied";
      lockInstance(row, caller, reason, remote, now);
      throw new ProblemException(
          ErrorCode.GENERATION_MISMATCH,
          "the generation does not match; the bot instance is now locked",
          reason);
    }
    if (presented == stored - 1) {
      throw new ProblemException(
          ErrorCode.GENERATION_MISMATCH,
          "this certificate was superseded by a renewal; finish the renewal and use the new certificate",
          "superseded certificate of generation " + presented + " presented (stored " + stored
              + "); not locked: the bot may be retrying a renewal whose answer was lost");
    }
    throw new ProblemException(
        ErrorCode.UNAUTHENTICATED,
        "the client certificate is not the bot instance's current certificate",
        "certificate of generation " + presented + " with serial " + caller.serial()
            + " is not the recorded certificate (serial " + row.serial() + ") of instance "
            + row.id());
  }

  /**
   * Inside an issuing transaction: orders it after revocations ({@link IssuerStore#awaitRevocations()})
   * and re-reads the caller, refusing if its instance (or bot) was deleted or a lock on any of its
   * targets committed since it was authorised.
   */
  CallerRecord revalidate(IssuerStore tx, String instanceId, String serial, Instant now) {
    tx.awaitRevocations();
    CallerRecord found = tx.findCaller(instanceId, serial, now)
        .orElseThrow(() -> new ProblemException(
            ErrorCode.UNAUTHENTICATED,
            "unknown bot instance",
            "instance " + instanceId
                + " was deleted (with its bot) before the issuance committed"));
    if (found.bot() == null) {
      throw new ProblemException(
          ErrorCode.UNAUTHENTICATED,
          "unknown bot",
          "bot '" + found.instance().bot() + "' was deleted before the issuance committed");
    }
    refuseIfLocked(found.activeLocks());
    return found;
  }

  private void lockInstance(
      InstanceRecord row, Caller caller, String reason, String remote, Instant now) {
    Lock lock =
        new Lock(UUID.randomUUID().toString(), Lock.Target.INSTANCE, row.id(), reason, now, null);
    Map<String, String> d = new LinkedHashMap<>();
    d.put("lock_id", lock.id());
    d.put("reason", reason);
    d.put("presented_generation", Long.toString(caller.extension().generation()));
    d.put("stored_generation", Long.toString(row.generation()));
    d.put("serial", caller.serial());
    d.put("remote_address", remote);
    store.inTransaction(tx -> {
      tx.insertLock(lock);
      audit.success(tx, "instance.locked", row.bot(), row.id(), d);
      return null;
    });
    LOG.warn(
        "locked bot '{}' instance {}: {} [remote {}, serial {}]",
        row.bot(),
        row.id(),
        reason,
        remote,
        caller.serial());
  }

  // ---------------------------------------------------------------- heartbeat

  public void heartbeat(ObjectNode body, String remote, X509Certificate[] peer) {
    Map<String, String> detail = new LinkedHashMap<>();
    detail.put("remote_address", remote);
    Instant now = clock.instant();
    Caller caller = null;
    try {
      caller = authorise(peer, now, detail);
      requireCurrent(caller, now, remote);
      HeartbeatRequest request = Requests.read(body, HeartbeatRequest.class);
      Heartbeat hb = new Heartbeat(
          now,
          request.hostname(),
          request.version(),
          request.uptimeSeconds(),
          request.oneShot(),
          request.outputs() == null ? Map.of() : request.outputs());
      checkHeartbeatText(hb);
      if (!store.updateHeartbeat(caller.instance().id(), hb)) {
        throw ProblemException.of(ErrorCode.UNAUTHENTICATED, "the bot instance no longer exists");
      }
    } catch (ProblemException e) {
      detail.put("code", e.code().code());
      detail.put("reason", e.getMessage());
      audit.failure(
          "heartbeat",
          caller == null ? null : caller.bot(),
          caller == null ? null : caller.instance().id(),
          detail);
      LOG.info("heartbeat refused ({}): {} [remote {}]", e.code().code(), e.getMessage(), remote);
      throw e;
    }
  }

  /** Heartbeat strings are shown in the CLI and the admin API: bounded, and free of control characters. */
  private static void checkHeartbeatText(Heartbeat hb) {
    Text.requireInert("hostname", hb.hostname(), 253);
    Text.requireInert("version", hb.version(), 128);
    if (hb.outputs().size() > 64) {
      throw Json.malformed("field 'outputs' must have at most 64 entries");
    }
    hb.outputs().forEach((k, v) -> {
      Text.requireInert("outputs key", k, 128);
      Text.requireInert("outputs." + k, v, 1024);
    });
  }

  // ---------------------------------------------------------------- authentication

  /**
   * An authenticated and authorised bot instance.
   *
   * @param botRecord the bot as stored when the call was authorised
   */
  record Caller(
      IdentityExtension extension,
      String serial,
      X509Certificate certificate,
      InstanceRecord instance,
      Bot botRecord) {
    /** The bot's name. */
    String bot() {
      return botRecord.name();
    }
  }

  /**
   * Authenticates the mTLS peer as a bot identity of the issuer authority (at the issuer's clock)
   * and authorises it from the store: the instance exists and belongs to the certificate's bot,
   * the bot exists, its join method renews, and no lock applies.
   */
  Caller authorise(X509Certificate[] peer, Instant now, Map<String, String> detail) {
    X509Certificate cert = authenticate(peer, now);
    String serial = CertificateAuthority.serialHex(cert);
    detail.put("serial", serial);
    if (CredentialMarks.has(cert, CredentialMarks.SCOPED_IDENTITY)) {
      throw new ProblemException(
          ErrorCode.UNAUTHENTICATED,
          "a role-scoped identity credential cannot renew, request credentials or send heartbeats; use the bot's own certificate",
          "client certificate is a role-scoped identity credential (marked not reissuable)");
    }
    String cn = CertificateAuthority.commonName(cert);
    IdentityExtension ext = IdentityExtension.from(cert).orElse(null);
    if (cn == null || !cn.startsWith("bot-") || ext == null || ext.instanceId() == null) {
      throw new ProblemException(
          ErrorCode.UNAUTHENTICATED,
          "a bot certificate is required",
          "client certificate is not a bot identity");
    }
    String botName = cn.substring(4);
    // the instance, its bot and the locks on any of the caller's targets, in one read
    CallerRecord found = store.findCaller(ext.instanceId(), serial, now).orElse(null);
    if (found == null) {
      throw new ProblemException(
          ErrorCode.UNAUTHENTICATED,
          "unknown bot instance",
          "no bot instance " + printable(ext.instanceId()));
    }
    InstanceRecord row = found.instance();
    if (!row.bot().equals(botName)) {
      throw new ProblemException(
          ErrorCode.UNAUTHENTICATED,
          "unknown bot instance",
          "instance " + row.id() + " belongs to bot '" + row.bot() + "', certificate names '"
              + printable(botName) + "'");
    }
    if (found.bot() == null) {
      throw new ProblemException(
          ErrorCode.UNAUTHENTICATED, "unknown bot", "bot '" + botName + "' was deleted");
    }
    refuseIfLocked(found.activeLocks());
    return new Caller(ext, serial, cert, row, found.bot());
  }

  /** The verified leaf certificate of a bot identity presented over mTLS. */
  private X509Certificate authenticate(X509Certificate[] peer, Instant now) {
    if (peer == null || peer.length == 0) {
      throw new ProblemException(
          ErrorCode.UNAUTHENTICATED,
          "a client certificate (the bot identity) is required",
          "no client certificate");
    }
    X509Certificate leaf = peer[0];
    X509Certificate caCert = ca.certificate();
    try {
      if (!leaf.getIssuerX500Principal().equals(caCert.getSubjectX500Principal())) {
        throw new IllegalArgumentException("issued by " + leaf.getIssuerX500Principal());
      }
      leaf.verify(caCert.getPublicKey());
    } catch (Exception e) {
      throw new ProblemException(
          ErrorCode.UNAUTHENTICATED,
          "the client certificate is not a bot identity of this issuer",
          "client certificate not from the issuer authority: " + e.getMessage());
    }
    try {
      leaf.checkValidity(Date.from(now));
    } catch (Exception e) {
      throw new ProblemException(
          ErrorCode.UNAUTHENTICATED,
          "the client certificate is expired or not yet valid",
          "client certificate outside its validity at " + now);
    }
    List<String> eku;
    try {
      eku = leaf.getExtendedKeyUsage();
    } catch (CertificateParsingException e) {
      eku = null;
    }
    if (!ClientCertificates.forClientAuth(leaf, eku)) {
      throw new ProblemException(
          ErrorCode.UNAUTHENTICATED,
          "the client certificate is not a bot identity",
          "client certificate " + ClientCertificates.describeUsage(leaf, eku));
    }
    return leaf;
  }

  private X509Certificate authenticateQuietly(X509Certificate[] peer, Instant now) {
    if (peer == null || peer.length == 0) {
      return null;
    }
    try {
      return authenticate(peer, now);
    } catch (ProblemException e) {
      return null;
    }
  }

  private void checkLocks(List<LockKey> keys, Instant now) {
    refuseIfLocked(store.findActiveLocks(keys, now));
  }

  private static void refuseIfLocked(List<Lock> active) {
    if (!active.isEmpty()) {
      Lock l = active.get(0);
      throw new ProblemException(
          ErrorCode.BOT_LOCKED,
          "the bot is locked; ask an operator",
          "locked by lock " + l.id() + " on " + l.target().label() + " " + l.value() + ": "
              + l.reason());
    }
  }

  // ---------------------------------------------------------------- issuance

  /**
   * The reply to a join or renewal: the credentials' JSON, serialised once, for the instance row
   * and for the reply.
   */
  public record Answer(String json) {}

  /** @param sshLogins the SSH certificate's principals; {@code null} when none was asked for, empty when the roles allow none */
  record Issued(IdentityResponse credentials, String json, String serial, List<String> sshLogins) {
    Answer answer() {
      return new Answer(json);
    }

    /** Adds what the audit event says about the bot's SSH certificate. */
    void describeSsh(Map<String, String> detail) {
      if (credentials.sshCertificate() != null) {
        detail.put("ssh_logins", String.join(",", sshLogins));
      } else if (sshLogins != null) {
        detail.put("ssh_certificate", "none: the bot's roles allow no login");
      }
    }
  }

  private Issued issue(
      Bot botRecord,
      String instanceId,
      long generation,
      String method,
      PublicKey key,
      String sshKey,
      Duration ttl,
      Instant now) {
    String bot = botRecord.name();
    CertificateAuthority.BotCertificate leaf = ca.issueBotCertificate(
        trustDomain, bot, key, new IdentityExtension(instanceId, generation, method), now, ttl);
    Instant notAfter = leaf.notAfter();
    String sshCertificate = null;
    List<String> logins = null;
    if (sshKey != null && ssh != null) {
      logins = botLogins(botRecord);
      if (!logins.isEmpty()) {
        // never longer than the X.509 identity: valid before = whole seconds of (now + remaining
        // life) <= notAfter
        sshCertificate =
            ssh.signUser(sshKey, "bot-" + bot, logins, now, Duration.between(now, notAfter));
      }
    }
    // uniformly between a third and a half of the lifetime, as the SDK plans it: a fleet that
    // renewed
    // together (after an outage) spreads out again instead of renewing in lockstep
    long third = ttl.toMillis() / 3;
    long half = ttl.toMillis() / 2;
    Instant renewAfter = now.plusMillis(third + (long) (random.nextDouble() * (half - third)));
    List<String> chain =
        List.of(Pem.encode("CERTIFICATE", leaf.der()), Pem.encode(ca.certificate()));
    IdentityResponse c = new IdentityResponse(
        bot, instanceId, generation, chain, sshCertificate, notAfter, renewAfter, now, authority);
    return new Issued(c, writeCredentials(c), leaf.serialHex(), logins);
  }

  /**
   * The logins the bot's SSH certificate names: every role granted to the bot contributes its
   * {@code allow.logins}, trait templates such as {@code {{internal.logins}}} expanded from the bot's
   * traits — the set an {@code ssh_user} credential for all of the bot's roles could name.
   */
  private List<String> botLogins(Bot bot) {
    String botName = bot.name();
    List<Role> roles = new ArrayList<>();
    for (String name : bot.roles()) {
      store.findRole(name).ifPresent(roles::add);
    }
    List<String> logins = new ArrayList<>();
    for (String login : CredentialService.allowed(bot, roles, Role::logins)) {
      if (SshCertificateRequest.isValidPrincipal(login)) {
        logins.add(login);
      } else {
        // a role or trait the operator wrote badly must not fail a join whose token is already used
        LOG.warn(
            "bot '{}': login '{}' from its roles or traits cannot be an SSH principal (whitespace, comma, control "
                + "character or over 255 characters); left out of its SSH certificate",
            botName,
            printable(login));
      }
    }
    return List.copyOf(logins);
  }

  /**
   * The optional {@code ssh_public_key}: an {@code authorized_keys} line for the same key as
   * {@code public_key}, whose possession the join's challenge signature (or the renewal's mTLS
   * certificate lineage) covers. Checked before anything is redeemed or stored.
   */
  private static String sshPublicKey(String line, PublicKey key) {
    if (line == null) {
      return null;
    }
    PublicKey parsed;
    try {
      parsed = SshCertificateRequest.parseAuthorizedKey(line);
    } catch (IllegalArgumentException e) {
      throw ProblemException.of(
          ErrorCode.MALFORMED_REQUEST,
          "field 'ssh_public_key' is not an OpenSSH public key: " + e.getMessage());
    }
    if (!java.util.Arrays.equals(parsed.getEncoded(), key.getEncoded())) {
      throw ProblemException.of(
          ErrorCode.MALFORMED_REQUEST,
          "field 'ssh_public_key' must hold the same key as 'public_key'");
    }
    return line;
  }

  private static String writeCredentials(IdentityResponse c) {
    try {
      return Protocol.writer().writeValueAsString(c);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot serialise credentials", e);
    }
  }

  private static IdentityResponse readCredentials(String json) {
    try {
      return Protocol.reader().forType(IdentityResponse.class).readValue(json);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("stored credentials do not parse", e);
    }
  }

  // ---------------------------------------------------------------- helpers

  private static Map<String, String> prefixed(Map<String, String> metadata) {
    Map<String, String> out = new LinkedHashMap<>();
    metadata.forEach((k, v) -> out.put("attested." + k, v));
    return out;
  }

  private static String clientText(ErrorCode code) {
    return switch (code) {
      case TOKEN_EXPIRED -> "the join token has expired";
      case TOKEN_CONSUMED -> "the join token was already used";
      case BOT_LOCKED -> "the bot is locked; ask an operator";
      default -> "the join was refused";
    };
  }

  /** Client-supplied text for logs: bounded and without control characters. */
  public static String printable(String s) {
    Objects.requireNonNull(s);
    String t = s.length() > 64 ? s.substring(0, 64) + "…" : s;
    return t.replaceAll("\\p{Cntrl}", "?");
  }
}
