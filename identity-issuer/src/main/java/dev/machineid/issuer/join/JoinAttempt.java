package dev.machineid.issuer.join;

import com.fasterxml.jackson.databind.JsonNode;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * One join request as a verifier sees it, after the issuer checked and redeemed the challenge and
 * the key-possession signature.
 */
public final class JoinAttempt {
  private final String method;
  private final String token;
  private final JsonNode proof;
  private final PublicKey publicKey;
  private final String challenge;
  private final String remoteAddress;
  private final X509Certificate clientCertificate;
  private final Instant time;
  private final TokenLedger tokens;

  /**
   * @param clientCertificate the verified bot certificate presented over mTLS (a re-join), or
   *     {@code null}
   */
  public JoinAttempt(
      String method,
      String token,
      JsonNode proof,
      PublicKey publicKey,
      String challenge,
      String remoteAddress,
      X509Certificate clientCertificate,
      Instant time,
      TokenLedger tokens) {
    this.method = Objects.requireNonNull(method, "method");
    this.token = token == null ? "" : token;
    this.proof = Objects.requireNonNull(proof, "proof");
    this.publicKey = Objects.requireNonNull(publicKey, "publicKey");
    this.challenge = Objects.requireNonNull(challenge, "challenge");
    this.remoteAddress = Objects.requireNonNull(remoteAddress, "remoteAddress");
    this.clientCertificate = clientCertificate;
    this.time = Objects.requireNonNull(time, "time");
    this.tokens = Objects.requireNonNull(tokens, "tokens");
  }

  /** The join method's name. */
  public String method() {
    return method;
  }

  /** The token name the client sent (the secret itself for {@code token}); empty if none. */
  public String token() {
    return token;
  }

  /** The method's proof object ({@code {}} for {@code token}). */
  public JsonNode proof() {
    return proof;
  }

  /** The key to be certified; the caller has proven it holds the private key. */
  public PublicKey publicKey() {
    return publicKey;
  }

  /** The redeemed challenge. */
  public String challenge() {
    return challenge;
  }

  /** The client's address. */
  public String remoteAddress() {
    return remoteAddress;
  }

  /** The bot certificate presented over mTLS, for re-joins. */
  public Optional<X509Certificate> clientCertificate() {
    return Optional.ofNullable(clientCertificate);
  }

  /** The issuer's clock reading for this request. */
  public Instant time() {
    return time;
  }

  /** Consumes the token named by {@link #token()} for this method; see {@link TokenLedger}. */
  public TokenConsumption consumeToken() {
    return tokens.consume(token, method);
  }
}
