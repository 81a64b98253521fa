package dev.machineid.consumer;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.zip.ZipFile;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Element;
import org.w3c.dom.Node;

/**
 * What Maven Central requires of every published module (the BOM's list): a main, a sources and a javadoc jar,
 * and a POM, as installed for users, with a name, description, url, licence, developer and SCM, read from the
 * module's POM or the parent it names.
 */
class PublishedArtifactsIT {
  private static final Path ROOT = Path.of(System.getProperty("machineid.root"));
  private static final Path REPOSITORY = Path.of(System.getProperty("machineid.repository"));
  private static final String VERSION = System.getProperty("machineid.version");
  private static final String GROUP = "dev.machineid";

  @Test
  void theBomListsEveryPublishedModuleAndCarriesTheCentralMetadataItself() throws Exception {
    assertThat(publishedModules())
        .containsExactlyInAnyOrder(
            "identity-core",
            "identity-okhttp",
            "identity-outputs",
            "identity-issuer",
            "identity-testkit",
            "identity-testkit-issuer",
            "identity-join-aws",
            "identity-agent");
    assertCentralMetadata("identity-bom");
  }

  @Test
  void everyPublishedModuleHasAPomWithEveryElementCentralRequires() throws Exception {
    for (String module : publishedModules()) {
      assertCentralMetadata(module);
    }
  }

  @Test
  void everyPublishedLibraryIsANamedModule() throws Exception {
    for (String module : publishedModules()) {
      if (!module.equals("identity-agent")) { // an application (agent.jar), used on the class path
        assertThat(entries(
                ROOT.resolve(module).resolve("target").resolve(module + "-" + VERSION + ".jar")))
            .as(module + " main jar")
            .contains("module-info.class");
      }
    }
  }

  @Test
  void everyPublishedModuleHasItsMainSourcesAndJavadocJars() throws Exception {
    for (String module : publishedModules()) {
      Path target = ROOT.resolve(module).resolve("target");
      String base = module + "-" + VERSION;
      assertThat(entries(target.resolve(base + ".jar")))
          .as(module + " main jar")
          .contains("META-INF/MANIFEST.MF")
          .anyMatch(e -> e.endsWith(".class"));
      assertThat(entries(target.resolve(base + "-sources.jar")))
          .as(module + " sources jar")
          .anyMatch(e -> e.endsWith(".java"));
      assertThat(entries(target.resolve(base + "-javadoc.jar")))
          .as(module + " javadoc jar")
          .contains("index.html")
          .anyMatch(e -> e.endsWith("package-summary.html"));
    }
  }

  private static void assertCentralMetadata(String artifactId) {
    Element pom = pom(artifactId);
    assertThat(pom.getTextContent())
        .as(artifactId + " POM as installed")
        .doesNotContain("${revision}");
    assertThat(text(pom, "groupId").or(() -> parent(pom).flatMap(p -> text(p, "groupId"))))
        .as(artifactId + " groupId")
        .hasValue(GROUP);
    assertThat(text(pom, "artifactId")).as(artifactId + " artifactId").hasValue(artifactId);
    assertThat(text(pom, "version").or(() -> parentVersion(pom)))
        .as(artifactId + " version")
        .hasValue(VERSION);
    assertThat(text(pom, "name")).as(artifactId + " name").isPresent();
    assertThat(text(pom, "description")).as(artifactId + " description").isPresent();
    for (String path : List.of(
        "url",
        "licenses/license/name",
        "licenses/license/url",
        "developers/developer/name",
        "scm/url",
        "scm/connection",
        "scm/developerConnection")) {
      assertThat(inherited(pom, path)).as(artifactId + " " + path).isPresent();
    }
    assertThat(inherited(pom, "licenses/license/name")).hasValue("Apache-2.0");
  }

  private static List<String> publishedModules() {
    List<String> modules = new ArrayList<>();
    Element management = child(pom("identity-bom"), "dependencyManagement")
        .flatMap(d -> child(d, "dependencies"))
        .orElseThrow();
    for (Node n = management.getFirstChild(); n != null; n = n.getNextSibling()) {
      if (n instanceof Element e && e.getTagName().equals("dependency")) {
        assertThat(text(e, "groupId")).hasValue(GROUP);
        modules.add(text(e, "artifactId").orElseThrow());
      }
    }
    return modules;
  }

  private static Element pom(String artifactId) {
    Path file = REPOSITORY
        .resolve("dev/machineid")
        .resolve(artifactId)
        .resolve(VERSION)
        .resolve(artifactId + "-" + VERSION + ".pom");
    assertThat(file).as("installed POM of " + artifactId).isRegularFile();
    try {
      var factory = DocumentBuilderFactory.newInstance();
      factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
      return factory.newDocumentBuilder().parse(file.toFile()).getDocumentElement();
    } catch (Exception e) {
      throw new IllegalStateException("cannot read " + file + ": " + e.getMessage(), e);
    }
  }

  private static Optional<String> inherited(Element pom, String path) {
    Optional<String> own = at(pom, path);
    if (own.isPresent()) {
      return own;
    }
    Optional<Element> parent = parent(pom);
    return parent.isPresent() ? inherited(parent.get(), path) : Optional.empty();
  }

  private static Optional<Element> parent(Element pom) {
    Optional<Element> parent = child(pom, "parent");
    if (parent.isEmpty()) {
      return Optional.empty();
    }
    assertThat(text(parent.get(), "groupId")).hasValue(GROUP);
    assertThat(text(parent.get(), "version")).hasValue(VERSION);
    return Optional.of(pom(text(parent.get(), "artifactId").orElseThrow()));
  }

  private static Optional<String> parentVersion(Element pom) {
    return child(pom, "parent").flatMap(p -> text(p, "version"));
  }

  private static Optional<String> at(Element element, String path) {
    Optional<Element> current = Optional.of(element);
    String[] steps = path.split("/");
    for (int i = 0; i < steps.length - 1 && current.isPresent(); i++) {
      String step = steps[i];
      current = current.flatMap(e -> child(e, step));
    }
    return current.flatMap(e -> text(e, steps[steps.length - 1]));
  }

  private static Optional<Element> child(Element element, String name) {
    for (Node n = element.getFirstChild(); n != null; n = n.getNextSibling()) {
      if (n instanceof Element e && e.getTagName().equals(name)) {
        return Optional.of(e);
      }
    }
    return Optional.empty();
  }

  private static Optional<String> text(Element element, String name) {
    return child(element, name).map(e -> e.getTextContent().trim()).filter(t -> !t.isEmpty());
  }

  private static List<String> entries(Path jar) throws IOException {
    assertThat(jar).isRegularFile();
    try (ZipFile zip = new ZipFile(jar.toFile())) {
      return zip.stream().map(e -> e.getName()).toList();
    }
  }
}
