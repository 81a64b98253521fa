package dev.machineid.issuer.internal.authority;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.machineid.core.ErrorCode;
import dev.machineid.core.protocol.Pem;
import dev.machineid.issuer.internal.ProblemException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.security.Security;
import java.security.Signature;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.RSAPublicKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.DERNull;
import org.bouncycastle.asn1.DERSequence;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.asn1.x9.X9ECParameters;
import org.bouncycastle.crypto.ec.CustomNamedCurves;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class KeysTest {
  private static final ASN1ObjectIdentifier ED25519 = new ASN1ObjectIdentifier("1.3.101.112");
  private static final ASN1ObjectIdentifier EC = new ASN1ObjectIdentifier("1.2.840.10045.2.1");
  private static final ASN1ObjectIdentifier P256 = new ASN1ObjectIdentifier("1.2.840.10045.3.1.7");
  private static final ASN1ObjectIdentifier RSA = new ASN1ObjectIdentifier("1.2.840.113549.1.1.1");
  private static final byte[] CHALLENGE = "a-challenge".getBytes(StandardCharsets.UTF_8);

  /** Ed25519 points of small order (1, 2, 4, 8) and non-canonical encodings (y >= p). */
  private static final List<String> BAD_ED25519 = List.of(
      "0100000000000000000000000000000000000000000000000000000000000000", // identity
      "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // order 2
      "0000000000000000000000000000000000000000000000000000000000000000", // order 4
      "0000000000000000000000000000000000000000000000000000000000000080", // order 4
      "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05", // order 8
      "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a", // order 8
      "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85", // order 8
      "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa", // order 8
      "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // y = p + 1, the identity
      // non-canonically
      "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"); // y = p

  @AfterEach
  void backToTheJdk() {
    CryptoProviders.install("jdk");
  }

  private static String pem(byte[] der) {
    return Pem.encode("PUBLIC KEY", der);
  }

  private static byte[] ed25519Spki(byte[] raw) throws Exception {
    return new SubjectPublicKeyInfo(new AlgorithmIdentifier(ED25519), raw).getEncoded("DER");
  }

  private static byte[] rsaSpki(BigInteger n, BigInteger e) throws Exception {
    byte[] key = new DERSequence(new ASN1Integer[] {new ASN1Integer(n), new ASN1Integer(e)})
        .getEncoded("DER");
    return new SubjectPublicKeyInfo(new AlgorithmIdentifier(RSA, DERNull.INSTANCE), key)
        .getEncoded("DER");
  }

  private static ECPublicKey p256() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp256r1"));
    return (ECPublicKey) g.generateKeyPair().getPublic();
  }

  private static byte[] uncompressed(BigInteger x, BigInteger y) {
    byte[] out = new byte[65];
    out[0] = 4;
    byte[] xb = x.toByteArray();
    byte[] yb = y.toByteArray();
    System.arraycopy(
        xb,
        Math.max(0, xb.length - 32),
        out,
        1 + 32 - Math.min(32, xb.length),
        Math.min(32, xb.length));
    System.arraycopy(
        yb,
        Math.max(0, yb.length - 32),
        out,
        33 + 32 - Math.min(32, yb.length),
        Math.min(32, yb.length));
    return out;
  }

  private static byte[] explicitParameterP256(ECPublicKey key) throws Exception {
    X9ECParameters x9 = CustomNamedCurves.getByName("P-256");
    X9ECParameters explicit =
        new X9ECParameters(x9.getCurve(), x9.getBaseEntry(), x9.getN(), x9.getH(), x9.getSeed());
    byte[] point = uncompressed(key.getW().getAffineX(), key.getW().getAffineY());
    return new SubjectPublicKeyInfo(new AlgorithmIdentifier(EC, explicit), point).getEncoded("DER");
  }

  /** The modulus of a real RSA key (two large primes), as weak-key fixtures need. */
  private static BigInteger modulus(int bits) throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
    g.initialize(bits);
    return ((java.security.interfaces.RSAPublicKey) g.generateKeyPair().getPublic()).getModulus();
  }

  private static void refused(String pem) {
    assertThatThrownBy(() -> Keys.parse(pem))
        .isInstanceOfSatisfying(ProblemException.class, e -> assertThat(e.code())
            .isEqualTo(ErrorCode.MALFORMED_REQUEST));
  }

  @Test
  void aSmallOrderKeyFailsProofOfPossession() throws Exception {
    for (String hex : BAD_ED25519) {
      byte[] spki = ed25519Spki(HexFormat.of().parseHex(hex));
      refused(pem(spki));
    }
    // The identity point with the "universal" signature (R = identity, S = 0): the JDK verifies it
    // for any message; the issuer must not.
    byte[] identity = HexFormat.of().parseHex(BAD_ED25519.get(0));
    PublicKey key = KeyFactory.getInstance("Ed25519")
        .generatePublic(new X509EncodedKeySpec(ed25519Spki(identity)));
    byte[] universal = new byte[64];
    universal[0] = 1;
    assertThat(Keys.verify(key, CHALLENGE, universal)).isFalse();
    // a sound Ed25519 key still proves possession
    KeyPair good = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
    Signature s = Signature.getInstance("Ed25519");
    s.initSign(good.getPrivate());
    s.update(CHALLENGE);
    PublicKey parsed = Keys.parse(Pem.encode(good.getPublic()));
    assertThat(Keys.verify(parsed, CHALLENGE, s.sign())).isTrue();
  }

  @Test
  void aWeakRsaKeyIsRefusedBeforeVerification() throws Exception {
    BigInteger n = modulus(2048);
    refused(pem(rsaSpki(n, BigInteger.ONE)));
    refused(pem(rsaSpki(n, BigInteger.valueOf(3))));
    refused(pem(rsaSpki(n, BigInteger.valueOf(65536)))); // even
    refused(pem(rsaSpki(
        n, BigInteger.ONE.shiftLeft(40).add(BigInteger.ONE)))); // unbounded verification cost
    refused(pem(rsaSpki(modulus(1024), BigInteger.valueOf(65537))));
    refused(pem(rsaSpki(n.clearBit(0), BigInteger.valueOf(65537))));
    // e = 1 makes the signature the padded digest itself, which anyone can compute: the key is
    // refused before any verification, whichever provider built it.
    PublicKey e1 = KeyFactory.getInstance("RSA", new BouncyCastleProvider())
        .generatePublic(new RSAPublicKeySpec(n, BigInteger.ONE));
    byte[] digestInfo = HexFormat.of().parseHex("3031300d060960864801650304020105000420");
    byte[] digest = java.security.MessageDigest.getInstance("SHA-256").digest(CHALLENGE);
    byte[] em = new byte[256];
    em[1] = 1;
    int t = digestInfo.length + digest.length;
    Arrays.fill(em, 2, 256 - t - 1, (byte) 0xff);
    System.arraycopy(digestInfo, 0, em, 256 - t, digestInfo.length);
    System.arraycopy(digest, 0, em, 256 - digest.length, digest.length);
    assertThat(Keys.verify(e1, CHALLENGE, em)).isFalse();
    // a sound RSA key is accepted
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
    g.initialize(2048);
    assertThat(Keys.parse(Pem.encode(g.generateKeyPair().getPublic()))).isNotNull();
  }

  @Test
  void anOffCurvePointIsRefused() throws Exception {
    ECPublicKey good = p256();
    BigInteger x = good.getW().getAffineX();
    BigInteger y = good.getW().getAffineY();
    byte[] offCurve = uncompressed(x, y.add(BigInteger.ONE));
    refused(pem(
        new SubjectPublicKeyInfo(new AlgorithmIdentifier(EC, P256), offCurve).getEncoded("DER")));
    // coordinates not reduced modulo p
    BigInteger p = CustomNamedCurves.getByName("P-256").getCurve().getField().getCharacteristic();
    byte[] unreduced = uncompressed(x, y);
    byte[] bigX = uncompressed(x.add(p).mod(BigInteger.ONE.shiftLeft(256)), y);
    if (x.add(p).bitLength() <= 256) {
      refused(
          pem(new SubjectPublicKeyInfo(new AlgorithmIdentifier(EC, P256), bigX).getEncoded("DER")));
    }
    assertThat(Keys.parse(pem(new SubjectPublicKeyInfo(new AlgorithmIdentifier(EC, P256), unreduced)
            .getEncoded("DER"))))
        .isEqualTo(good);
    assertThat(Keys.parse(Pem.encode(good))).isEqualTo(good);
  }

  /** What {@link Keys#parse} says about each fixture: "ok" or "refused". */
  private static Map<String, String> outcomes() throws Exception {
    ECPublicKey ec = p256();
    BigInteger n = modulus(2048);
    Map<String, byte[]> fixtures = new LinkedHashMap<>();
    fixtures.put("p256 named", ec.getEncoded());
    fixtures.put("p256 explicit parameters", explicitParameterP256(ec));
    fixtures.put("rsa e=65537", rsaSpki(n, BigInteger.valueOf(65537)));
    fixtures.put("rsa e=1", rsaSpki(n, BigInteger.ONE));
    fixtures.put("rsa e=3", rsaSpki(n, BigInteger.valueOf(3)));
    fixtures.put(
        "ed25519",
        KeyPairGenerator.getInstance("Ed25519").generateKeyPair().getPublic().getEncoded());
    fixtures.put("ed25519 identity", ed25519Spki(HexFormat.of().parseHex(BAD_ED25519.get(0))));
    fixtures.put("ed25519 non-canonical", ed25519Spki(HexFormat.of().parseHex(BAD_ED25519.get(8))));
    Map<String, String> out = new LinkedHashMap<>();
    for (Map.Entry<String, byte[]> f : fixtures.entrySet()) {
      String outcome;
      try {
        Keys.parse(pem(f.getValue()));
        outcome = "ok";
      } catch (ProblemException e) {
        outcome = "refused";
      }
      out.put(f.getKey(), outcome);
    }
    return out;
  }

  @ParameterizedTest
  @ValueSource(strings = {"jdk", "bouncycastle", "accp"})
  void keyParsingIsTheSameUnderEveryProvider(String provider) throws Exception {
    CryptoProviders.install(provider);
    Map<String, String> expected = new LinkedHashMap<>();
    expected.put("p256 named", "ok");
    expected.put("p256 explicit parameters", "refused");
    expected.put("rsa e=65537", "ok");
    expected.put("rsa e=1", "refused");
    expected.put("rsa e=3", "refused");
    expected.put("ed25519", "ok");
    expected.put("ed25519 identity", "refused");
    expected.put("ed25519 non-canonical", "refused");
    assertThat(outcomes()).isEqualTo(expected);
  }

  @Test
  void choosingBouncyCastleRegistersNoGlobalProvider() throws Exception {
    assertThat(CryptoProviders.install("bouncycastle")).isEqualTo("BC");
    assertThat(Security.getProvider("BC")).isNull();
    // and Bouncy Castle, used by instance, still signs certificates
    CertificateAuthority ca = CertificateAuthority.create(
        "example.org", java.time.Instant.now(), new java.security.SecureRandom());
    ca.certificate().verify(ca.certificate().getPublicKey());
    CryptoProviders.install("accp");
    assertThat(Security.getProvider("AmazonCorrettoCryptoProvider")).isNull();
    assertThat(Arrays.stream(Security.getProviders()).map(java.security.Provider::getName))
        .doesNotContain("BC", "AmazonCorrettoCryptoProvider");
  }
}
