package dev.machineid.outputs.format;

import dev.machineid.core.Credential;
import dev.machineid.core.CredentialKind;
import dev.machineid.core.CredentialRequest;
import dev.machineid.core.IdentityException;
import dev.machineid.core.TrustBundle;
import dev.machineid.core.output.Destination;
import dev.machineid.core.output.IdentityOutput;
import dev.machineid.core.output.Output;
import dev.machineid.core.output.OutputProvider;
import dev.machineid.core.protocol.Pem;
import dev.machineid.core.protocol.SshPublicKeys;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * The output kinds, named and laid out as tbot's, each with its {@link OutputProvider}:
 * {@code identity}, {@code application}, {@code spiffe-x509}, {@code spiffe-jwt}, {@code database},
 * {@code kubernetes}, {@code ssh} and {@code ssh_host}. See docs/outputs.md.
 */
public final class OutputKinds {
  private OutputKinds() {}

  private static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static String pem(List<X509Certificate> certs) {
    StringBuilder sb = new StringBuilder();
    for (X509Certificate c : certs) {
      sb.append(Pem.encode(c));
    }
    return sb.toString();
  }

  private static String pems(List<String> list) {
    StringBuilder sb = new StringBuilder();
    if (list != null) {
      for (String p : list) {
        sb.append(p.strip()).append('\n');
      }
    }
    return sb.toString();
  }

  /** Each certificate as PEM, one after the other. */
  private static String certificatePems(List<java.security.cert.X509Certificate> list) {
    StringBuilder sb = new StringBuilder();
    for (java.security.cert.X509Certificate cert : list) {
      sb.append(Pem.encode(cert).strip()).append('\n');
    }
    return sb.toString();
  }

  private static TrustBundle authority(RenderContext c) {
    if (c.authority() == null) {
      throw new IdentityException("no authority document from the issuer yet");
    }
    return c.authority();
  }

  private static Credential credential(RenderContext c) {
    if (c.credential() == null) {
      throw new IllegalStateException("no credential to render");
    }
    return c.credential();
  }

  private static Function<String, CredentialRequest> request(
      CredentialKind kind,
      Settings s,
      java.util.function.Consumer<CredentialRequest.Builder> target) {
    List<String> roles = s.list("roles", kind != CredentialKind.APPLICATION);
    Duration ttl = s.ttl();
    String explicit = s.string("name", false);
    // validate now, so a bad block fails at config time
    CredentialRequest.Builder probe =
        CredentialRequest.builder(kind).roles(roles.toArray(String[]::new));
    target.accept(probe);
    if (ttl != null) {
      probe.ttl(ttl);
    }
    probe.build();
    return name -> {
      CredentialRequest.Builder b = CredentialRequest.builder(kind)
          .name(explicit != null ? explicit : name)
          .roles(roles.toArray(String[]::new));
      target.accept(b);
      if (ttl != null) {
        b.ttl(ttl);
      }
      return b.build();
    };
  }

  private abstract static class Base implements OutputProvider {
    abstract Set<String> keys();

    abstract CredentialOutput make(Settings s, Destination d);

    @Override
    public final Output create(
        dev.machineid.core.config.Settings settings, Destination destination) {
      Settings s = new Settings(type(), settings, keys());
      Destination d = destination;
      if (d instanceof dev.machineid.outputs.destination.OutputOwnedDestination owned) {
        d = owned.forOutput(outputId(type(), s, settings.values()));
      }
      return make(s, d);
    }
  }

  /**
   * An output's identity, recorded by destinations shared with other writers: its {@code name} if
   * set, else its type and a fingerprint of what it renders (every setting but {@code destination},
   * {@code ttl} and {@code reload}), e.g. {@code database-3f09a1c2}.
   */
  static String outputId(String type, Settings s, Map<String, Object> settings) {
    String explicit = s.has("name") ? s.string("name", false) : null;
    if (explicit != null) {
      return explicit;
    }
    Map<String, Object> rendered = new java.util.TreeMap<>();
    if (settings != null) {
      settings.forEach((k, v) -> {
        if (!Set.of("destination", "ttl", "reload").contains(k)) {
          rendered.put(k, v);
        }
      });
    }
    try {
      byte[] digest = java.security.MessageDigest.getInstance("SHA-256")
          .digest(canonical(rendered).getBytes(StandardCharsets.UTF_8));
      return type + "-" + java.util.HexFormat.of().formatHex(digest, 0, 4);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }

  private static String canonical(Object v) {
    if (v instanceof Map<?, ?> m) {
      Map<String, Object> sorted = new java.util.TreeMap<>();
      m.forEach((k, x) -> sorted.put(String.valueOf(k), x));
      StringBuilder sb = new StringBuilder("{");
      sorted.forEach((k, x) -> sb.append(k).append('=').append(canonical(x)).append(';'));
      return sb.append('}').toString();
    }
    if (v instanceof List<?> l) {
      StringBuilder sb = new StringBuilder("[");
      l.forEach(x -> sb.append(canonical(x)).append(','));
      return sb.append(']').toString();
    }
    return String.valueOf(v);
  }

  // ------------------------------------------------------------------ the bot identity

  /**
   * {@code identity}: the bot's own identity, as tbot's — {@code tlscert}, {@code key},
   * {@code tlscacerts} ({@link IdentityOutput#files}), {@code key-cert.pub} (the bot's SSH user
   * certificate, for the logins its roles allow; absent when they allow none), and {@code ssh_config}
   * and {@code known_hosts} as the {@code ssh} kind writes them, so that {@code ssh -F <dest>/ssh_config}
   * logs in as the bot.
   */
  public static final class Identity extends Base {
    /** Called by {@link java.util.ServiceLoader}. */
    public Identity() {}

    @Override
    public String type() {
      return IdentityOutput.TYPE;
    }

    @Override
    Set<String> keys() {
      return Set.of("host_patterns");
    }

    @Override
    CredentialOutput make(Settings s, Destination d) {
      for (String roleScoped : List.of("roles", "ttl", "name")) {
        if (s.has(roleScoped)) {
          throw new IllegalArgumentException(
              roleScoped + ": not a setting of the identity output, which renders the bot "
                  + "identity itself (all of the bot's roles, the bot certificate's lifetime); remove it");
        }
      }
      List<String> patterns = s.list("host_patterns", false);
      return new CredentialOutput(
          type(),
          d,
          null,
          c -> {
            Map<String, byte[]> f = new LinkedHashMap<>(IdentityOutput.files(c.identity()));
            sshClientFiles(f, c, patterns, type());
            return f;
          },
          s.reload(),
          true);
    }
  }

  // ------------------------------------------------------------------ X.509 SVIDs

  /** {@code application}: {@code tls.crt}, {@code tls.key}, {@code ca.crt} — an X509-SVID and the SPIFFE bundle. */
  public static final class Application extends Base {
    /** Called by {@link java.util.ServiceLoader}. */
    public Application() {}

    @Override
    public String type() {
      return "application";
    }

    @Override
    Set<String> keys() {
      return Set.of();
    }

    @Override
    CredentialOutput make(Settings s, Destination d) {
      return svid(type(), s, d, "tls.crt", "tls.key", "ca.crt");
    }
  }

  /** {@code spiffe-x509}: {@code svid.pem}, {@code svid.key}, {@code bundle.pem}. */
  public static final class SpiffeX509 extends Base {
    /** Called by {@link java.util.ServiceLoader}. */
    public SpiffeX509() {}

    @Override
    public String type() {
      return "spiffe-x509";
    }

    @Override
    Set<String> keys() {
      return Set.of();
    }

    @Override
    CredentialOutput make(Settings s, Destination d) {
      return svid(type(), s, d, "svid.pem", "svid.key", "bundle.pem");
    }
  }

  /** An X509-SVID, its key and the SPIFFE bundle, under the given file names. */
  static CredentialOutput svid(
      String type, Settings s, Destination d, String certFile, String keyFile, String bundleFile) {
    return new CredentialOutput(
        type,
        d,
        request(CredentialKind.APPLICATION, s, b -> {}),
        c -> {
          Credential cr = credential(c);
          Map<String, byte[]> f = new LinkedHashMap<>();
          f.put(certFile, ascii(pem(cr.certificateChain())));
          f.put(keyFile, ascii(Pem.encode(cr.privateKey().orElseThrow())));
          f.put(bundleFile, ascii(certificatePems(authority(c).spiffeAuthorities())));
          return f;
        },
        s.reload());
  }

  /** {@code spiffe-jwt}: the JWT-SVID for {@code audiences} in {@code jwt_svid}. */
  public static final class SpiffeJwt extends Base {
    /** Called by {@link java.util.ServiceLoader}. */
    public SpiffeJwt() {}

    @Override
    public String type() {
      return "spiffe-jwt";
    }

    @Override
    Set<String> keys() {
      return Set.of("audiences");
    }

    @Override
    CredentialOutput make(Settings s, Destination d) {
      List<String> aud = s.list("audiences", true);
      return new CredentialOutput(
          type(),
          d,
          request(CredentialKind.JWT_SVID, s, b -> b.audiences(aud.toArray(String[]::new))),
          c -> Map.of("jwt_svid", ascii(credential(c).token().orElseThrow())),
          s.reload());
    }
  }

  // ------------------------------------------------------------------ database

  /**
   * {@code database}: {@code tls.crt}, {@code tls.key} (PEM), {@code key.pk8} (PKCS#8 DER, pgjdbc's
   * {@code sslkey}), {@code tls.p12} (PKCS#12, empty password) and {@code tls.cas} (the database
   * server authority, for {@code sslrootcert} with {@code sslmode=verify-full}).
   */
  public static final class Database extends Base {
    /** Called by {@link java.util.ServiceLoader}. */
    public Database() {}

    @Override
    public String type() {
      return "database";
    }

    @Override
    Set<String> keys() {
      return Set.of("username", "database_user", "database");
    }

    @Override
    CredentialOutput make(Settings s, Destination d) {
      String user = s.string("username", false);
      if (user == null) {
        user = s.string("database_user", true);
      }
      String u = user;
      return new CredentialOutput(
          type(),
          d,
          request(CredentialKind.DATABASE, s, b -> b.databaseUser(u)),
          c -> {
            Credential cr = credential(c);
            var key = cr.privateKey().orElseThrow();
            Map<String, byte[]> f = new LinkedHashMap<>();
            f.put("tls.crt", ascii(pem(cr.certificateChain())));
            f.put("tls.key", ascii(Pem.encode(key)));
            f.put("key.pk8", key.getEncoded());
            f.put("tls.p12", pkcs12(cr));
            f.put("tls.cas", ascii(certificatePems(authority(c).databaseServerAuthorities())));
            return f;
          },
          s.reload());
    }

    private static byte[] pkcs12(Credential cr) {
      try {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry(
            "tls",
            cr.privateKey().orElseThrow(),
            new char[0],
            cr.certificateChain().toArray(new Certificate[0]));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ks.store(out, new char[0]);
        return out.toByteArray();
      } catch (GeneralSecurityException | IOException e) {
        throw new IdentityException("cannot build tls.p12: " + e, e);
      }
    }
  }

  // ------------------------------------------------------------------ kubernetes

  /**
   * {@code kubernetes}: {@code kubeconfig.yaml} with the client certificate and key embedded, the
   * cluster {@code server} and its CA ({@code certificate_authority} file or
   * {@code certificate_authority_data} PEM) from the output's config.
   */
  public static final class Kubernetes extends Base {
    /** Called by {@link java.util.ServiceLoader}. */
    public Kubernetes() {}

    @Override
    public String type() {
      return "kubernetes";
    }

    @Override
    Set<String> keys() {
      return Set.of(
          "kubernetes_cluster",
          "server",
          "certificate_authority",
          "certificate_authority_data",
          "insecure_skip_tls_verify",
          "kubernetes_user",
          "kubernetes_groups");
    }

    @Override
    CredentialOutput make(Settings s, Destination d) {
      String cluster = s.string("kubernetes_cluster", false);
      String clusterName = cluster != null ? cluster : "kubernetes";
      String server = s.string("server", true);
      if (!server.startsWith("https://")) {
        throw new IllegalArgumentException(
            "server: expected an https:// URL, got '" + server + "'");
      }
      String caFile = s.string("certificate_authority", false);
      String caData = s.string("certificate_authority_data", false);
      boolean insecure = s.bool("insecure_skip_tls_verify");
      if (caFile == null && caData == null && !insecure) {
        throw new IllegalArgumentException(
            "certificate_authority: missing; name the API server's CA file "
                + "(or give certificate_authority_data)");
      }
      String user = s.string("kubernetes_user", false);
      List<String> groups = s.list("kubernetes_groups", false);
      return new CredentialOutput(
          type(),
          d,
          request(CredentialKind.KUBERNETES, s, b -> {
            if (user != null) {
              b.kubernetesUser(user);
            }
            if (!groups.isEmpty()) {
              b.kubernetesGroups(groups.toArray(String[]::new));
            }
          }),
          c -> {
            Credential cr = credential(c);
            Base64.Encoder b64 = Base64.getEncoder();
            String ca;
            if (caFile != null) {
              try {
                ca = Files.readString(Path.of(caFile));
              } catch (IOException e) {
                throw new IdentityException(
                    "kubernetes output: cannot read certificate_authority " + caFile + ": " + e, e);
              }
            } else {
              ca = caData;
            }
            StringBuilder y = new StringBuilder();
            y.append("# Written by machine-id (kubernetes output); replaced on every issuance.\n");
            y.append("apiVersion: v1\nkind: Config\nclusters:\n- name: ")
                .append(q(clusterName))
                .append("\n  cluster:\n");
            y.append("    server: ").append(q(server)).append('\n');
            if (ca != null) {
              y.append("    certificate-authority-data: ")
                  .append(b64.encodeToString(ascii(ca)))
                  .append('\n');
            }
            if (insecure) {
              y.append("    insecure-skip-tls-verify: true\n");
            }
            y.append("users:\n- name: ").append(q(clusterName)).append("\n  user:\n");
            y.append("    client-certificate-data: ")
                .append(b64.encodeToString(ascii(pem(cr.certificateChain()))))
                .append('\n');
            y.append("    client-key-data: ")
                .append(b64.encodeToString(ascii(Pem.encode(cr.privateKey().orElseThrow()))))
                .append('\n');
            y.append("contexts:\n- name: ")
                .append(q(clusterName))
                .append("\n  context:\n    cluster: ")
                .append(q(clusterName))
                .append("\n    user: ")
                .append(q(clusterName))
                .append('\n');
            y.append("current-context: ").append(q(clusterName)).append('\n');
            return Map.of("kubeconfig.yaml", ascii(y.toString()));
          },
          s.reload());
    }
  }

  /** A YAML double-quoted scalar (JSON escaping is valid YAML). */
  static String q(String s) {
    StringBuilder sb = new StringBuilder("\"");
    for (char ch : s.toCharArray()) {
      switch (ch) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        default -> {
          if (ch < 0x20) {
            sb.append(String.format("\\u%04x", (int) ch));
          } else {
            sb.append(ch);
          }
        }
      }
    }
    return sb.append('"').toString();
  }

  // ------------------------------------------------------------------ ssh

  /**
   * {@code ssh}: {@code key} (PKCS#8 PEM, which OpenSSH reads), {@code key.pub}, {@code key-cert.pub},
   * {@code ssh_config} (pointing at those files) and {@code known_hosts} with an
   * {@code @cert-authority} line per SSH host authority.
   */
  public static final class Ssh extends Base {
    /** Called by {@link java.util.ServiceLoader}. */
    public Ssh() {}

    @Override
    public String type() {
      return "ssh";
    }

    @Override
    Set<String> keys() {
      return Set.of("logins", "host_patterns");
    }

    @Override
    CredentialOutput make(Settings s, Destination d) {
      List<String> logins = s.list("logins", false);
      List<String> patterns = s.list("host_patterns", false);
      return new CredentialOutput(
          type(),
          d,
          request(CredentialKind.SSH_USER, s, b -> {
            if (!logins.isEmpty()) {
              b.logins(logins.toArray(String[]::new));
            }
          }),
          c -> {
            Credential cr = credential(c);
            Map<String, byte[]> f = new LinkedHashMap<>();
            f.put("key", ascii(Pem.encode(cr.privateKey().orElseThrow())));
            f.put(
                "key.pub",
                ascii(SshPublicKeys.authorizedKey(cr.publicKey().orElseThrow()).strip() + "\n"));
            f.put("key-cert.pub", ascii(cr.sshCertificate().orElseThrow().strip() + "\n"));
            sshClientFiles(f, c, patterns, type());
            return f;
          },
          s.reload());
    }
  }

  /**
   * Adds {@code known_hosts} (an {@code @cert-authority} line per SSH host authority, for
   * {@code patterns} or {@code *}) and {@code ssh_config} (for hosts matching {@code patterns}:
   * {@code key} and {@code key-cert.pub} beside it, that {@code known_hosts} only, strict host key
   * checking). Paths name the destination directory's stable links, which survive every rewrite.
   */
  static void sshClientFiles(
      Map<String, byte[]> f, RenderContext c, List<String> patterns, String kind) {
    String hosts = patterns.isEmpty() ? "*" : String.join(",", patterns);
    StringBuilder kh = new StringBuilder();
    for (String ca : nonNull(authority(c).sshHostAuthorities())) {
      kh.append("@cert-authority ").append(hosts).append(' ').append(ca.strip()).append('\n');
    }
    f.put("known_hosts", ascii(kh.toString()));
    String dir = c.directoryPath().map(p -> p.toString() + "/").orElse("");
    String cfg = "# Written by machine-id (" + kind + " output); replaced on every issuance.\n"
        + "Host " + String.join(" ", patterns.isEmpty() ? List.of("*") : patterns) + "\n"
        + "    UserKnownHostsFile \"" + dir + "known_hosts\"\n"
        + "    IdentityFile \"" + dir + "key\"\n"
        + "    CertificateFile \"" + dir + "key-cert.pub\"\n"
        + "    IdentitiesOnly yes\n"
        + "    PubkeyAuthentication yes\n"
        + "    PasswordAuthentication no\n"
        + "    KbdInteractiveAuthentication no\n"
        + "    StrictHostKeyChecking yes\n"
        + "    GlobalKnownHostsFile /dev/null\n";
    f.put("ssh_config", ascii(cfg));
  }

  private static List<String> nonNull(List<String> l) {
    return l == null ? List.of() : l;
  }

  /**
   * {@code ssh_host}: {@code ssh_host} (host key, sshd's {@code HostKey}), {@code ssh_host.pub},
   * {@code ssh_host-cert.pub} ({@code HostCertificate}) and {@code ssh_host-user-ca.pub}
   * ({@code TrustedUserCAKeys}). sshd reads these only at start or on SIGHUP: give it a {@code reload}.
   */
  public static final class SshHost extends Base {
    /** Called by {@link java.util.ServiceLoader}. */
    public SshHost() {}

    @Override
    public String type() {
      return "ssh_host";
    }

    @Override
    Set<String> keys() {
      return Set.of("host_names");
    }

    @Override
    CredentialOutput make(Settings s, Destination d) {
      List<String> names = s.list("host_names", true);
      return new CredentialOutput(
          type(),
          d,
          request(CredentialKind.SSH_HOST, s, b -> b.hostNames(names.toArray(String[]::new))),
          c -> {
            Credential cr = credential(c);
            Map<String, byte[]> f = new LinkedHashMap<>();
            f.put("ssh_host", ascii(Pem.encode(cr.privateKey().orElseThrow())));
            f.put(
                "ssh_host.pub",
                ascii(SshPublicKeys.authorizedKey(cr.publicKey().orElseThrow()).strip() + "\n"));
            f.put("ssh_host-cert.pub", ascii(cr.sshCertificate().orElseThrow().strip() + "\n"));
            f.put("ssh_host-user-ca.pub", ascii(pems(authority(c).sshUserAuthorities())));
            return f;
          },
          s.reload());
    }
  }
}
