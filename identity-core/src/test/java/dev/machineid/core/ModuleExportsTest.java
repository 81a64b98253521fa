package dev.machineid.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.lang.module.ModuleDescriptor;
import java.lang.reflect.Executable;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.lang.reflect.RecordComponent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** What core's module descriptor lets other modules read: the public API, and the wire model only to the project's own modules. */
class ModuleExportsTest {
  private static final Path CLASSES = classes();

  private static Path classes() {
    try {
      return Path.of(MachineIdentity.class
          .getProtectionDomain()
          .getCodeSource()
          .getLocation()
          .toURI());
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static ModuleDescriptor descriptor() throws Exception {
    try (InputStream in = Files.newInputStream(CLASSES.resolve("module-info.class"))) {
      return ModuleDescriptor.read(in);
    }
  }

  private static Map<String, Set<String>> exports() throws Exception {
    return descriptor().exports().stream()
        .collect(
            Collectors.toMap(ModuleDescriptor.Exports::source, ModuleDescriptor.Exports::targets));
  }

  @Test
  void theWireModelIsExportedOnlyToTheProjectsModulesThatSpeakIt() throws Exception {
    assertThat(exports().get("dev.machineid.core.protocol"))
        .containsExactlyInAnyOrder(
            "dev.machineid.issuer", "dev.machineid.outputs", "dev.machineid.testkit");
  }

  @Test
  void internalPackagesAreNotExportedExceptTheDiscoverySharedWithTheIssuer() throws Exception {
    Map<String, Set<String>> internal = exports().entrySet().stream()
        .filter(e -> e.getKey().startsWith("dev.machineid.core.internal"))
        .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue));
    assertThat(internal).containsOnlyKeys("dev.machineid.core.internal.spi");
    assertThat(internal.get("dev.machineid.core.internal.spi"))
        .containsExactly("dev.machineid.issuer");
    assertThat(descriptor().opens()).allSatisfy(o -> assertThat(o.isQualified()).isTrue());
  }

  @Test
  void noPublicApiSignatureMentionsTheWireModelOrInternals() throws Exception {
    List<String> leaks = new ArrayList<>();
    for (Map.Entry<String, Set<String>> e : exports().entrySet()) {
      if (!e.getValue().isEmpty()) {
        continue; // qualified: not public API
      }
      Path dir = CLASSES.resolve(e.getKey().replace('.', '/'));
      try (Stream<Path> files = Files.list(dir)) {
        for (Path f : files.filter(p -> p.toString().endsWith(".class")).toList()) {
          String name = e.getKey() + "." + f.getFileName().toString().replace(".class", "");
          Class<?> c = Class.forName(name, false, MachineIdentity.class.getClassLoader());
          if (exposed(c)) {
            leaks.addAll(leaksOf(c));
          }
        }
      }
    }
    assertThat(leaks).isEmpty();
  }

  private static boolean exposed(Class<?> c) {
    for (Class<?> k = c; k != null; k = k.getDeclaringClass()) {
      if (!Modifier.isPublic(k.getModifiers()) && !Modifier.isProtected(k.getModifiers())) {
        return false;
      }
    }
    return true;
  }

  private static List<String> leaksOf(Class<?> c) {
    List<String> out = new ArrayList<>();
    List<Executable> members = new ArrayList<>(List.of(c.getDeclaredMethods()));
    members.addAll(List.of(c.getDeclaredConstructors()));
    for (Executable m : members) {
      if (!visible(m.getModifiers()) || m.isSynthetic()) {
        continue;
      }
      List<Class<?>> types = new ArrayList<>(List.of(m.getParameterTypes()));
      types.addAll(List.of(m.getExceptionTypes()));
      if (m instanceof java.lang.reflect.Method method) {
        types.add(method.getReturnType());
      }
      for (Class<?> t : types) {
        if (hidden(t)) {
          out.add(c.getName() + "." + m.getName() + " uses " + t.getName());
        }
      }
    }
    for (Field f : c.getDeclaredFields()) {
      if (visible(f.getModifiers()) && hidden(f.getType())) {
        out.add(c.getName() + "." + f.getName() + " is a " + f.getType().getName());
      }
    }
    if (c.isRecord()) {
      for (RecordComponent rc : c.getRecordComponents()) {
        if (hidden(rc.getType())) {
          out.add(c.getName() + "." + rc.getName() + " is a " + rc.getType().getName());
        }
      }
    }
    if (c.getSuperclass() != null && hidden(c.getSuperclass())) {
      out.add(c.getName() + " extends " + c.getSuperclass().getName());
    }
    return out;
  }

  private static boolean visible(int modifiers) {
    return Modifier.isPublic(modifiers) || Modifier.isProtected(modifiers);
  }

  private static boolean hidden(Class<?> t) {
    while (t.isArray()) {
      t = t.getComponentType();
    }
    String p = t.getPackageName();
    return p.equals("dev.machineid.core.protocol") || p.startsWith("dev.machineid.core.internal");
  }
}
