package dev.machineid.outputs.format;

import static org.assertj.core.api.Assertions.assertThat;

import dev.machineid.core.output.Destination;
import dev.machineid.core.output.Output;
import dev.machineid.core.output.OutputProvider;
import java.io.File;
import java.lang.reflect.InvocationTargetException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OutputDiscoveryTest {
  /** A second provider of the {@code identity} output, as another jar on the class path might bring. */
  public static final class SecondIdentity implements OutputProvider {
    @Override
    public String type() {
      return "identity";
    }

    @Override
    public Output create(Map<String, Object> settings, Destination destination) {
      throw new UnsupportedOperationException("never made");
    }
  }

  @Test
  void aSecondProviderOfAnExistingOutputTypeFailsDiscoveryNamingBothClasses(@TempDir Path dir)
      throws Exception {
    Path extra = Files.createDirectories(dir.resolve("extra/META-INF/services"));
    Files.writeString(
        extra.resolve(OutputProvider.class.getName()), SecondIdentity.class.getName() + "\n");
    Path config = Files.writeString(
        dir.resolve("agent.yaml"),
        """
        version: v1
        issuer: https://127.0.0.1:8443
        onboarding: {join_method: token, token: t, ca_pins: ["sha256:%s"]}
        outputs:
          - type: identity
            destination: {type: memory}
        """
            .formatted("ab".repeat(32)));
    List<URL> urls = new ArrayList<>();
    urls.add(dir.resolve("extra").toUri().toURL());
    for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
      urls.add(Path.of(entry).toUri().toURL());
    }
    // the SDK in a class loader of its own, whose discovery (with the API's class loader) sees the
    // extra provider
    Throwable thrown = null;
    try (URLClassLoader isolated =
        new URLClassLoader(urls.toArray(URL[]::new), ClassLoader.getPlatformClassLoader())) {
      Class.forName("dev.machineid.core.MachineIdentity", true, isolated)
          .getMethod("fromConfig", Path.class)
          .invoke(null, config);
    } catch (InvocationTargetException e) {
      thrown = e.getCause();
    }
    assertThat(thrown).isNotNull();
    assertThat(thrown.getClass().getName()).isEqualTo("dev.machineid.core.ConfigException");
    assertThat(thrown.getMessage())
        .contains("outputs")
        .contains("two output providers for 'identity'")
        .contains(OutputKinds.Identity.class.getName())
        .contains(SecondIdentity.class.getName());
  }
}
