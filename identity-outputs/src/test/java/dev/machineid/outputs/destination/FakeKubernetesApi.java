package dev.machineid.outputs.destination;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.StatusBuilder;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A tiny Kubernetes API over plain HTTP on 127.0.0.1 (JDK {@code HttpServer}):
 * {@code GET/POST/PUT /api/v1/namespaces/{ns}/secrets[/{name}]}, with resourceVersion checks (409 on a
 * stale or missing version, as the API server answers updates) and data values checked to be base64.
 * Fabric8's model classes only (de)serialise the JSON.
 */
final class FakeKubernetesApi implements AutoCloseable {
  private static final Pattern PATH = Pattern.compile("/api/v1/namespaces/([^/]+)/secrets(?:/([^/?]+))?");
  private static final KubernetesSerialization JSON = new KubernetesSerialization();

  private final HttpServer server;
  private final Map<String, Secret> secrets = new HashMap<>();
  private long version = 100;
  private final List<String> requests = Collections.synchronizedList(new ArrayList<>());
  /** Run before the next PUT is handled: a concurrent writer. */
  private final List<Consumer<FakeKubernetesApi>> beforeNextPut = Collections.synchronizedList(new ArrayList<>());

  FakeKubernetesApi() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/", this::handle);
    server.start();
  }

  String url() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  /** "METHOD path -> status", in order. */
  List<String> requests() {
    synchronized (requests) {
      return List.copyOf(requests);
    }
  }

  void beforeNextPut(Consumer<FakeKubernetesApi> action) {
    beforeNextPut.add(action);
  }

  /** A copy of the stored Secret, or null. */
  synchronized Secret secret(String ns, String name) {
    Secret s = secrets.get(ns + "/" + name);
    return s == null ? null : JSON.clone(s);
  }

  /** Changes a Secret as another client would: sets a data key (base64 of {@code value}) and bumps resourceVersion. */
  synchronized void putForeignKey(String ns, String name, String key, String value) {
    Secret s = secrets.get(ns + "/" + name);
    if (s == null) {
      s = new SecretBuilder().withNewMetadata().withName(name).withNamespace(ns).endMetadata().withType("Opaque").build();
      secrets.put(ns + "/" + name, s);
    }
    Map<String, String> data = s.getData() == null ? new TreeMap<>() : new TreeMap<>(s.getData());
    data.put(key, Base64.getEncoder().encodeToString(value.getBytes(StandardCharsets.UTF_8)));
    s.setData(data);
    s.getMetadata().setResourceVersion(Long.toString(++version));
  }

  private void handle(HttpExchange ex) throws IOException {
    int status;
    try {
      Matcher m = PATH.matcher(ex.getRequestURI().getPath());
      status = m.matches() ? route(ex, ex.getRequestMethod(), m.group(1), m.group(2))
          : reply(ex, 404, status(404, "NotFound", "no route " + ex.getRequestURI().getPath()));
    } catch (RuntimeException e) {
      status = reply(ex, 500, status(500, "InternalError", e.toString()));
    }
    requests.add(ex.getRequestMethod() + " " + ex.getRequestURI().getPath() + " -> " + status);
  }

  private int route(HttpExchange ex, String method, String ns, String name) throws IOException {
    if (method.equals("PUT")) {
      List<Consumer<FakeKubernetesApi>> actions;
      synchronized (beforeNextPut) {
        actions = new ArrayList<>(beforeNextPut);
        beforeNextPut.clear();
      }
      actions.forEach(a -> a.accept(this));
    }
    synchronized (this) {
      String key = ns + "/" + name;
      switch (method) {
        case "GET": {
          if (name == null) {
            return reply(ex, 405, status(405, "MethodNotAllowed", "list is not implemented"));
          }
          Secret s = secrets.get(key);
          return s == null ? reply(ex, 404, status(404, "NotFound", "secrets \"" + name + "\" not found"))
              : reply(ex, 200, JSON.asJson(s));
        }
        case "POST": {
          if (name != null) {
            return reply(ex, 405, status(405, "MethodNotAllowed", "POST to a name"));
          }
          Secret body = body(ex);
          String bad = badRequest(body);
          if (bad != null) {
            return reply(ex, 400, status(400, "BadRequest", bad));
          }
          String n = body.getMetadata().getName();
          if (secrets.containsKey(ns + "/" + n)) {
            return reply(ex, 409, status(409, "AlreadyExists", "secrets \"" + n + "\" already exists"));
          }
          body.getMetadata().setNamespace(ns);
          body.getMetadata().setResourceVersion(Long.toString(++version));
          body.getMetadata().setUid(UUID.randomUUID().toString());
          secrets.put(ns + "/" + n, body);
          return reply(ex, 201, JSON.asJson(body));
        }
        case "PUT": {
          Secret current = secrets.get(key);
          if (current == null) {
            return reply(ex, 404, status(404, "NotFound", "secrets \"" + name + "\" not found"));
          }
          Secret body = body(ex);
          String bad = badRequest(body);
          if (bad != null) {
            return reply(ex, 400, status(400, "BadRequest", bad));
          }
          if (!current.getMetadata().getResourceVersion().equals(body.getMetadata().getResourceVersion())) {
            return reply(ex, 409, status(409, "Conflict", "Operation cannot be fulfilled on secrets \"" + name
                + "\": the object has been modified; please apply your changes to the latest version and try again"));
          }
          body.getMetadata().setResourceVersion(Long.toString(++version));
          secrets.put(key, body);
          return reply(ex, 200, JSON.asJson(body));
        }
        default:
          return reply(ex, 405, status(405, "MethodNotAllowed", method));
      }
    }
  }

  private static String badRequest(Secret body) {
    if (body.getMetadata() == null || body.getMetadata().getName() == null) {
      return "metadata.name: Required value";
    }
    if (body.getData() != null) {
      for (Map.Entry<String, String> e : body.getData().entrySet()) {
        try {
          Base64.getDecoder().decode(e.getValue());
        } catch (IllegalArgumentException iae) {
          return "data[" + e.getKey() + "]: illegal base64 data";
        }
      }
    }
    return null;
  }

  private static Secret body(HttpExchange ex) throws IOException {
    return JSON.unmarshal(new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8), Secret.class);
  }

  private static String status(int code, String reason, String message) {
    return JSON.asJson(new StatusBuilder().withStatus("Failure").withCode(code).withReason(reason).withMessage(message)
        .build());
  }

  private static int reply(HttpExchange ex, int status, String json) throws IOException {
    byte[] b = json.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", "application/json");
    ex.sendResponseHeaders(status, b.length);
    ex.getResponseBody().write(b);
    ex.close();
    return status;
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
