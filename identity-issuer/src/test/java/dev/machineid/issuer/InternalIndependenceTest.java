package dev.machineid.issuer;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The dependency rule of docs/architecture.md: nothing in {@code dev.machineid.issuer.internal..}
 * depends on the public façade {@link Issuer}; the admin HTTP API and everything else internal
 * call the resource services. Checked on the compiled classes: the constant pool of each class
 * names every class it refers to (in class entries and in field and method descriptors).
 */
class InternalIndependenceTest {
  /** {@code Issuer} or one of its nested classes, as a class file writes the name. */
  private static final Pattern FACADE =
      Pattern.compile("dev/machineid/issuer/Issuer(?:\\$[\\w$]*)?(?![\\w/])");

  @Test
  void noInternalClassRefersToTheIssuerFacade() throws Exception {
    Path internal = classesRoot().resolve("dev/machineid/issuer/internal");
    List<String> offenders = new ArrayList<>();
    int scanned = 0;
    try (Stream<Path> files = Files.walk(internal)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".class")).toList()) {
        scanned++;
        for (String name : referencedNames(f)) {
          if (FACADE.matcher(name).find()) {
            offenders.add(internal.relativize(f) + " -> " + name);
          }
        }
      }
    }
    assertThat(scanned).as("compiled internal classes found under " + internal).isGreaterThan(20);
    assertThat(offenders)
        .as("internal classes referring to the public façade dev.machineid.issuer.Issuer")
        .isEmpty();
  }

  @Test
  void theScanSeesAReferenceToTheFacade() throws Exception {
    // this test class refers to Issuer (the javadoc link does not count; the field below does)
    Path self = classesOf(InternalIndependenceTest.class)
        .resolve(InternalIndependenceTest.class.getName().replace('.', '/') + ".class");
    assertThat(referencedNames(self)).anyMatch(n -> FACADE.matcher(n).find());
    assertThat(USES_FACADE).isEqualTo(Issuer.class);
  }

  private static final Class<?> USES_FACADE = Issuer.class;

  private static Path classesRoot() throws URISyntaxException {
    return classesOf(Issuer.class);
  }

  private static Path classesOf(Class<?> c) throws URISyntaxException {
    Path p = Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI());
    if (!Files.isDirectory(p)) {
      throw new IllegalStateException("expected a classes directory, got " + p);
    }
    return p;
  }

  /**
   * The names in a class file's constant pool that refer to types: class entries and
   * descriptors, not the text of string literals.
   */
  private static Set<String> referencedNames(Path classFile) throws IOException {
    try (InputStream in = Files.newInputStream(classFile);
        DataInputStream d = new DataInputStream(in)) {
      if (d.readInt() != 0xCAFEBABE) {
        throw new IOException(classFile + " is not a class file");
      }
      d.readUnsignedShort();
      d.readUnsignedShort();
      int count = d.readUnsignedShort();
      String[] utf8 = new String[count];
      Set<Integer> literals = new HashSet<>();
      for (int i = 1; i < count; i++) {
        int tag = d.readUnsignedByte();
        switch (tag) {
          case 1 -> utf8[i] = d.readUTF();
          case 3, 4 -> d.readInt();
          case 5, 6 -> {
            d.readLong();
            i++;
          }
          case 8 -> literals.add(d.readUnsignedShort());
          case 7, 16, 19, 20 -> d.readUnsignedShort();
          case 9, 10, 11, 12, 17, 18 -> d.readInt();
          case 15 -> {
            d.readUnsignedByte();
            d.readUnsignedShort();
          }
          default -> throw new IOException(classFile + ": unknown constant pool tag " + tag);
        }
      }
      Set<String> names = new HashSet<>();
      for (int i = 1; i < count; i++) {
        if (utf8[i] != null && !literals.contains(i)) {
          names.add(utf8[i]);
        }
      }
      return names;
    }
  }
}
