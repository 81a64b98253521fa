package dev.machineid.outputs.destination;

import dev.machineid.core.IdentityException;
import dev.machineid.core.output.Destination;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes an output's files as the keys of one Kubernetes Secret (type {@code Opaque}), through
 * Fabric8. The Secret belongs to one output: its name is recorded in {@value #OUTPUT_ANNOTATION}
 * and a second output naming the same Secret is refused ({@code OWNED_BY_ANOTHER_OUTPUT}), as are
 * a Secret of another type ({@code WRONG_TYPE}) and one managed by another tool — a
 * {@value #MANAGED_BY_LABEL} label of another value, a Helm release, a controller owner reference
 * ({@code MANAGED_ELSEWHERE}). Secrets it creates are labelled {@value #MANAGED_BY_LABEL}={@value #MANAGER}. The Secret is created if absent; otherwise it is updated with a read-modify-write that
 * touches only this destination's keys (other keys and labels in the Secret are kept) and that is
 * retried when the API server answers 409 Conflict (someone changed the Secret since our read).
 * The keys this destination wrote are listed in the annotation {@value #KEYS_ANNOTATION}, so a key
 * an output no longer writes is removed and {@link #read()} returns only our keys. A key of the same
 * name that this destination did not write is never overwritten: the write fails with
 * {@link KubernetesSecretException} ({@code FOREIGN_KEY}) and the Secret is left as it was, as it is
 * for every other failure (RBAC, persistent conflicts), each with its own
 * {@link KubernetesSecretException.Reason}.
 *
 * <p>A Secret puts private keys into etcd: enable encryption at rest and grant the bot's service
 * account only {@code get}/{@code update} on this one Secret name (and {@code create}, if it must
 * create it). Prefer a {@link DirectoryDestination} on an {@code emptyDir} when the consumer runs in
 * the same pod.
 *
 * <p>Needs {@code io.fabric8:kubernetes-client} and an HTTP client (e.g.
 * {@code io.fabric8:kubernetes-httpclient-jdk}) at run time.
 */
public final class KubernetesSecretDestination implements Destination, OutputOwnedDestination {
  public static final String TYPE = "kubernetes_secret";
  /** Lists (comma-separated, sorted) the keys this destination owns in the Secret. */
  public static final String KEYS_ANNOTATION = "machineid.dev/keys";
  /** Names the one output that owns the Secret's {@link #KEYS_ANNOTATION keys}. */
  public static final String OUTPUT_ANNOTATION = "machineid.dev/output";
  /** The standard label naming the tool that manages a resource. */
  public static final String MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
  /** Our value of {@link #MANAGED_BY_LABEL}, set on the Secrets this destination creates. */
  public static final String MANAGER = "machine-id";
  /** The owner of a destination not bound to an output (made in Java without {@link Builder#owner}). */
  public static final String DEFAULT_OWNER = "default";

  private static final String HELM_RELEASE_ANNOTATION = "meta.helm.sh/release-name";
  /** Where a pod's service account namespace is mounted. */
  public static final Path POD_NAMESPACE_FILE =
      Path.of("/var/run/secrets/kubernetes.io/serviceaccount/namespace");

  private static final Logger LOG = LoggerFactory.getLogger(KubernetesSecretDestination.class);
  private static final Pattern DNS1123_SUBDOMAIN =
      Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
  private static final Pattern DNS1123_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
  private static final Pattern SECRET_KEY = Pattern.compile("[-._a-zA-Z0-9]+");
  private static final Pattern LABEL_NAME =
      Pattern.compile("([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]");
  private static final Pattern LABEL_VALUE =
      Pattern.compile("(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?");

  private final String name;
  private final String namespace;
  private final Map<String, String> labels;
  private final Config config;
  private final String server;
  private final int maxAttempts;
  private final String owner;
  private final boolean ownerSet;
  private volatile KubernetesClient client;

  private KubernetesSecretDestination(Builder b, String namespace) {
    this.name = b.name;
    this.namespace = namespace;
    this.labels = Collections.unmodifiableMap(new TreeMap<>(b.labels));
    this.config = b.config;
    this.server = b.server;
    this.maxAttempts = b.maxAttempts;
    this.owner = b.owner != null ? b.owner : DEFAULT_OWNER;
    this.ownerSet = b.owner != null;
  }

  private KubernetesSecretDestination(KubernetesSecretDestination d, String owner) {
    this.name = d.name;
    this.namespace = d.namespace;
    this.labels = d.labels;
    this.config = d.config;
    this.server = d.server;
    this.maxAttempts = d.maxAttempts;
    this.owner = owner;
    this.ownerSet = true;
  }

  /** The output that owns the keys this destination writes (recorded in {@value #OUTPUT_ANNOTATION}). */
  public String owner() {
    return owner;
  }

  /**
   * This destination owned by {@code outputId}, unless an owner was set explicitly; what an output
   * made from config calls with its identity.
   */
  @Override
  public KubernetesSecretDestination forOutput(String outputId) {
    return ownerSet ? this : new KubernetesSecretDestination(this, checkOwner(outputId));
  }

  /**
   * A builder for the Secret {@code name} (a DNS-1123 subdomain).
   *
   * @throws IllegalArgumentException if the name is not a valid Secret name
   */
  public static Builder builder(String name) {
    return new Builder(checkName(name));
  }

  /** The Secret's name. */
  public String name() {
    return name;
  }

  /** The Secret's namespace. */
  public String namespace() {
    return namespace;
  }

  @Override
  public synchronized void write(Map<String, byte[]> files) {
    Objects.requireNonNull(files, "files");
    Map<String, String> ours = new TreeMap<>();
    for (Map.Entry<String, byte[]> e : files.entrySet()) {
      String key = e.getKey();
      if (key == null
          || key.length() > 253
          || !SECRET_KEY.matcher(key).matches()
          || key.equals(".")
          || key.equals("..")) {
        throw new IllegalArgumentException(
            "bad file name '" + key + "': a Secret key must be 1-253 characters of "
                + "[-._a-zA-Z0-9] and not '.' or '..'");
      }
      ours.put(key, Base64.getEncoder().encodeToString(Objects.requireNonNull(e.getValue(), key)));
    }
    String annotation = String.join(",", ours.keySet());
    KubernetesClient k8s = client();
    for (int attempt = 1; ; attempt++) {
      try {
        Secret current = k8s.secrets().inNamespace(namespace).withName(name).get();
        if (current == null) {
          Map<String, String> freshLabels = new LinkedHashMap<>(labels);
          freshLabels.put(MANAGED_BY_LABEL, MANAGER);
          Secret fresh = new SecretBuilder()
              .withNewMetadata()
              .withName(name)
              .withNamespace(namespace)
              .withLabels(freshLabels)
              .withAnnotations(Map.of(KEYS_ANNOTATION, annotation, OUTPUT_ANNOTATION, owner))
              .endMetadata()
              .withType("Opaque")
              .withData(ours)
              .build();
          k8s.secrets().inNamespace(namespace).resource(fresh).create();
          LOG.info("created Secret {}/{} with keys {}", namespace, name, ours.keySet());
          return;
        }
        ObjectMeta meta = current.getMetadata();
        Map<String, String> data =
            current.getData() == null ? new TreeMap<>() : new TreeMap<>(current.getData());
        Map<String, String> annotations =
            meta.getAnnotations() == null ? new TreeMap<>() : new TreeMap<>(meta.getAnnotations());
        Map<String, String> newLabels =
            meta.getLabels() == null ? new TreeMap<>() : new TreeMap<>(meta.getLabels());
        refuseUnlessOurs(current);
        Set<String> owned = ownedKeys(annotations);
        Set<String> foreign = new TreeSet<>(ours.keySet());
        foreign.retainAll(data.keySet());
        foreign.removeAll(owned);
        if (!foreign.isEmpty()) {
          throw new KubernetesSecretException(
              KubernetesSecretException.Reason.FOREIGN_KEY,
              0,
              namespace,
              name,
              "cannot write Secret " + namespace + "/" + name + ": it already holds " + foreign
                  + ", which this "
                  + "destination did not write (they are not listed in its " + KEYS_ANNOTATION
                  + " annotation), so they "
                  + "are someone else's and are left alone. Name another Secret for this output, or remove those keys "
                  + "(or the Secret) if they are stale; the Secret was not changed",
              null);
        }
        // drop keys we wrote last time and no longer write; never touch anyone else's
        for (String old : owned) {
          if (!ours.containsKey(old)) {
            data.remove(old);
          }
        }
        data.putAll(ours);
        annotations.put(KEYS_ANNOTATION, annotation);
        annotations.put(OUTPUT_ANNOTATION, owner);
        newLabels.putAll(labels);
        if (data.equals(current.getData())
            && annotations.equals(meta.getAnnotations())
            && newLabels.equals(meta.getLabels() == null ? Map.of() : meta.getLabels())) {
          return; // already up to date
        }
        Secret updated = new SecretBuilder(current)
            .editMetadata()
            .withLabels(newLabels)
            .withAnnotations(annotations)
            .endMetadata() // keeps resourceVersion
            .withData(data)
            .build();
        k8s.secrets().inNamespace(namespace).resource(updated).update();
        LOG.debug("updated keys {} of Secret {}/{}", ours.keySet(), namespace, name);
        return;
      } catch (KubernetesClientException e) {
        // 409: changed (or created) by someone else since our read; 404: deleted between get and
        // update
        if ((e.getCode() == 409 || e.getCode() == 404) && attempt < maxAttempts) {
          LOG.debug(
              "Secret {}/{} changed concurrently (HTTP {}), retrying ({}/{})",
              namespace,
              name,
              e.getCode(),
              attempt,
              maxAttempts);
          backoff(attempt);
          continue;
        }
        throw failure("write", e, attempt);
      }
    }
  }

  @Override
  public Map<String, byte[]> read() {
    Secret s;
    try {
      s = client().secrets().inNamespace(namespace).withName(name).get();
    } catch (KubernetesClientException e) {
      throw failure("read", e, 1);
    }
    if (s == null || s.getData() == null || !ownedByUs(s)) {
      return Map.of();
    }
    Set<String> owned = ownedKeys(s.getMetadata().getAnnotations());
    Map<String, byte[]> out = new TreeMap<>();
    for (Map.Entry<String, String> e : s.getData().entrySet()) {
      if (owned.contains(e.getKey())) {
        out.put(e.getKey(), Base64.getDecoder().decode(e.getValue() == null ? "" : e.getValue()));
      }
    }
    return Collections.unmodifiableMap(out);
  }

  /** True if the Secret names our output as its owner, or (written before owners were recorded) no output. */
  private boolean ownedByUs(Secret s) {
    Map<String, String> a = s.getMetadata().getAnnotations();
    String recorded = a == null ? null : a.get(OUTPUT_ANNOTATION);
    return recorded == null || recorded.equals(owner);
  }

  /**
   * Refuses, changing nothing, a Secret of another type (a service-account token, a TLS or
   * docker-config Secret), one managed by another tool (a {@value #MANAGED_BY_LABEL} label of
   * another value, a Helm release, a controller's owner reference), and one whose keys belong to
   * another output.
   */
  private void refuseUnlessOurs(Secret s) {
    ObjectMeta meta = s.getMetadata();
    String type = s.getType();
    if (type != null && !type.equals("Opaque")) {
      throw refusal(
          KubernetesSecretException.Reason.WRONG_TYPE,
          "it is of type " + type + ", not Opaque; a Secret of "
              + "another type is another component's (a service-account token, a TLS or registry Secret). Name another Secret");
    }
    String managedBy = meta.getLabels() == null ? null : meta.getLabels().get(MANAGED_BY_LABEL);
    if (managedBy != null && !managedBy.equals(MANAGER)) {
      throw refusal(
          KubernetesSecretException.Reason.MANAGED_ELSEWHERE,
          "it is labelled " + MANAGED_BY_LABEL + "="
              + managedBy
              + ", so that tool would overwrite what is written, or this would overwrite what it wrote. Name "
              + "another Secret");
    }
    String helm =
        meta.getAnnotations() == null ? null : meta.getAnnotations().get(HELM_RELEASE_ANNOTATION);
    if (helm != null) {
      throw refusal(
          KubernetesSecretException.Reason.MANAGED_ELSEWHERE,
          "it belongs to the Helm release " + helm + ". Name another Secret");
    }
    if (meta.getOwnerReferences() != null) {
      for (var ref : meta.getOwnerReferences()) {
        if (Boolean.TRUE.equals(ref.getController())) {
          throw refusal(
              KubernetesSecretException.Reason.MANAGED_ELSEWHERE,
              "it is controlled by " + ref.getKind() + " " + ref.getName()
                  + ". Name another Secret");
        }
      }
    }
    if (!ownedByUs(s)) {
      throw refusal(
          KubernetesSecretException.Reason.OWNED_BY_ANOTHER_OUTPUT,
          "its keys belong to the output '"
              + meta.getAnnotations().get(OUTPUT_ANNOTATION) + "' (annotation " + OUTPUT_ANNOTATION
              + "), not to '" + owner
              + "'. Give every output its own Secret; if that output is gone, delete the Secret");
    }
  }

  private KubernetesSecretException refusal(KubernetesSecretException.Reason reason, String why) {
    return new KubernetesSecretException(
        reason,
        0,
        namespace,
        name,
        "cannot write Secret " + namespace + "/" + name + ": " + why
            + "; the Secret was not changed",
        null);
  }

  static String checkOwner(String owner) {
    Objects.requireNonNull(owner, "owner");
    if (owner.isBlank() || owner.length() > 253 || !owner.matches("[-._a-zA-Z0-9:/]+")) {
      throw new IllegalArgumentException("destination owner: bad output name '" + owner
          + "': 1-253 characters of " + "[-._a-zA-Z0-9:/]");
    }
    return owner;
  }

  private static Set<String> ownedKeys(Map<String, String> annotations) {
    String v = annotations == null ? null : annotations.get(KEYS_ANNOTATION);
    if (v == null || v.isBlank()) {
      return Set.of();
    }
    return new TreeSet<>(Arrays.asList(v.split(",")));
  }

  private KubernetesSecretException failure(
      String what, KubernetesClientException e, int attempts) {
    KubernetesSecretException.Reason reason;
    String hint;
    switch (e.getCode()) {
      case 401:
        reason = KubernetesSecretException.Reason.UNAUTHORIZED;
        hint =
            "; the API server did not accept the client's credentials (service account token or kubeconfig user)";
        break;
      case 403:
        reason = KubernetesSecretException.Reason.FORBIDDEN;
        hint =
            "; the service account needs get and update (and create, unless the Secret already exists) on secrets/"
                + name + " in namespace " + namespace + " (see docs/outputs.md)";
        break;
      case 409:
        reason = KubernetesSecretException.Reason.CONFLICT;
        hint = "; gave up after " + attempts + " conflicting concurrent modifications";
        break;
      default:
        reason = KubernetesSecretException.Reason.API_ERROR;
        hint = "";
    }
    return new KubernetesSecretException(
        reason,
        e.getCode(),
        namespace,
        name,
        "cannot " + what + " Secret " + namespace + "/" + name + " (HTTP " + e.getCode() + "): "
            + e.getMessage() + hint,
        e);
  }

  private static void backoff(int attempt) {
    try {
      Thread.sleep(Math.min(1000, 25L << attempt) + ThreadLocalRandom.current().nextInt(25));
    } catch (InterruptedException ie) {
      Thread.currentThread().interrupt();
      throw new IdentityException("interrupted while retrying a Secret update", ie);
    }
  }

  private KubernetesClient client() {
    KubernetesClient c = client;
    if (c == null) {
      synchronized (this) {
        c = client;
        if (c == null) {
          Config cfg = config;
          if (cfg == null) {
            cfg = Config.autoConfigure(null); // in-cluster service account, else kubeconfig
            if (server != null) {
              cfg.setMasterUrl(server);
            }
          }
          c = new KubernetesClientBuilder().withConfig(cfg).build();
          client = c;
        }
      }
    }
    return c;
  }

  @Override
  public String toString() {
    return TYPE + ":" + namespace + "/" + name;
  }

  static String checkName(String name) {
    if (name == null || name.isBlank()) {
      throw new IllegalArgumentException("destination.name: missing (the Secret's name)");
    }
    if (name.length() > 253 || !DNS1123_SUBDOMAIN.matcher(name).matches()) {
      throw new IllegalArgumentException(
          "destination.name: '" + name + "' is not a valid Secret name: it must be a "
              + "DNS-1123 subdomain (at most 253 characters of lower-case letters, digits, '-' and '.', starting and "
              + "ending with a letter or digit), e.g. 'bot-db-credentials'");
    }
    return name;
  }

  static String checkNamespace(String ns) {
    if (ns.length() > 63 || !DNS1123_LABEL.matcher(ns).matches()) {
      throw new IllegalArgumentException(
          "destination.namespace: '" + ns + "' is not a valid namespace: it must be a "
              + "DNS-1123 label (at most 63 characters of lower-case letters, digits and '-', starting and ending with a "
              + "letter or digit)");
    }
    return ns;
  }

  static void checkLabel(String key, String value) {
    String k = key;
    int slash = key.indexOf('/');
    if (slash >= 0) {
      String prefix = key.substring(0, slash);
      k = key.substring(slash + 1);
      if (prefix.isEmpty()
          || prefix.length() > 253
          || !DNS1123_SUBDOMAIN.matcher(prefix).matches()) {
        throw new IllegalArgumentException("destination.labels: bad label prefix in '" + key + "'");
      }
    }
    if (k.isEmpty() || k.length() > 63 || !LABEL_NAME.matcher(k).matches()) {
      throw new IllegalArgumentException("destination.labels: bad label name '" + key + "'");
    }
    if (value == null || value.length() > 63 || !LABEL_VALUE.matcher(value).matches()) {
      throw new IllegalArgumentException(
          "destination.labels." + key + ": bad label value '" + value + "'");
    }
  }

  /** Builds a {@link KubernetesSecretDestination}. */
  public static final class Builder {
    private final String name;
    private final Map<String, String> labels = new TreeMap<>();
    private String namespace;
    private String server;
    private Config config;
    private Path podNamespaceFile = POD_NAMESPACE_FILE;
    private int maxAttempts = 5;
    private String owner;

    private Builder(String name) {
      this.name = name;
    }

    /** The Secret's namespace; the pod's own namespace by default. */
    public Builder namespace(String namespace) {
      this.namespace = checkNamespace(Objects.requireNonNull(namespace, "namespace"));
      return this;
    }

    /**
     * The API server URL, overriding the auto-configured one (credentials still come from the
     * service account or kubeconfig).
     */
    public Builder server(String server) {
      if (server == null || server.isBlank()) {
        throw new IllegalArgumentException("destination.server: empty");
      }
      this.server = server;
      return this;
    }

    /** A complete Fabric8 configuration to use instead of the auto-configuration (and {@code server}). */
    @SuppressWarnings(
        "exports") // Fabric8's Config by design; Fabric8 is optional, its users have it
    public Builder config(Config config) {
      this.config = Objects.requireNonNull(config, "config");
      return this;
    }

    /**
     * The output that owns the keys written (recorded in {@value #OUTPUT_ANNOTATION}); a Secret
     * owned by another output is refused. Outputs made from config set their own identity; in Java
     * it is {@value #DEFAULT_OWNER} unless set here.
     */
    public Builder owner(String owner) {
      if (this.owner != null) {
        throw new IllegalStateException("owner is already set");
      }
      this.owner = checkOwner(owner);
      return this;
    }

    /** A label set on the Secret (other labels on it are kept). */
    public Builder label(String key, String value) {
      Objects.requireNonNull(key, "label");
      checkLabel(key, value);
      if (key.equals(MANAGED_BY_LABEL) && !MANAGER.equals(value)) {
        throw new IllegalArgumentException("destination.labels." + key
            + ": this destination manages the Secret and " + "sets it to " + MANAGER
            + "; a Secret labelled as managed by another tool is refused");
      }
      labels.put(key, value);
      return this;
    }

    /** How many times a write is tried when the Secret changes under it (409 Conflict); 5 by default. */
    public Builder maxAttempts(int attempts) {
      if (attempts < 1) {
        throw new IllegalArgumentException("maxAttempts must be at least 1");
      }
      this.maxAttempts = attempts;
      return this;
    }

    Builder podNamespaceFile(Path file) {
      this.podNamespaceFile = file;
      return this;
    }

    /**
     * @throws IllegalArgumentException if no namespace is given and this is not running in a pod
     */
    public KubernetesSecretDestination build() {
      String ns = namespace;
      if (ns == null) {
        ns = podNamespace(podNamespaceFile);
        if (ns == null) {
          throw new IllegalArgumentException(
              "destination.namespace: missing; it defaults to the pod's namespace ("
                  + podNamespaceFile
                  + "), which is not there: not running in a pod, so name the namespace");
        }
        checkNamespace(ns);
      }
      return new KubernetesSecretDestination(this, ns);
    }

    private static String podNamespace(Path file) {
      try {
        if (file != null && Files.isRegularFile(file)) {
          String ns = new String(Files.readAllBytes(file), StandardCharsets.UTF_8).strip();
          return ns.isEmpty() ? null : ns;
        }
      } catch (IOException e) {
        LOG.warn("cannot read the pod namespace from {}: {}", file, e.toString());
      }
      return null;
    }
  }

  /**
   * ServiceLoader provider for {@code type: kubernetes_secret} ({@code name}, optional {@code namespace},
   * {@code server}, {@code labels}).
   */
  public static final class Provider implements dev.machineid.core.output.DestinationProvider {
    /** For ServiceLoader. */
    public Provider() {}

    @Override
    public String type() {
      return TYPE;
    }

    @Override
    public Destination create(dev.machineid.core.config.Settings settings) {
      settings.declare("type");
      try {
        Class.forName(
            "io.fabric8.kubernetes.client.KubernetesClientBuilder",
            false,
            Provider.class.getClassLoader());
        Class.forName(
            "io.fabric8.kubernetes.api.model.Secret", false, Provider.class.getClassLoader());
      } catch (ClassNotFoundException | LinkageError e) {
        throw new dev.machineid.core.config.SettingsException(
            settings.pathOf("type"),
            "kubernetes_secret needs Fabric8 on "
                + "the class path: add io.fabric8:kubernetes-client and io.fabric8:kubernetes-httpclient-jdk");
      }
      Builder b = builder(settings.optionalString("name").orElse(null));
      settings.optionalString("namespace").ifPresent(b::namespace);
      settings.optionalString("server").ifPresent(b::server);
      settings.stringMap("labels").forEach(b::label);
      return b.build();
    }
  }
}
