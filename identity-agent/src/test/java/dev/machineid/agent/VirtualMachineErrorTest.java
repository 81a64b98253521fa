package dev.machineid.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.machineid.core.MachineIdentity;
import dev.machineid.core.storage.Storage;
import dev.machineid.core.storage.StoredIdentity;
import dev.machineid.testkit.FakeIssuer;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** An error of the JVM itself (out of memory) is not a join failure that a retry could mend. */
class VirtualMachineErrorTest {
  @Test
  void anOutOfMemoryErrorWhileRestoringIsNeitherAJoinFailureNorRetried() throws Exception {
    AtomicInteger loads = new AtomicInteger();
    Storage exhausted = new Storage() {
      @Override
      public Optional<StoredIdentity> load() {
        loads.incrementAndGet();
        throw new OutOfMemoryError("Java heap space");
      }

      @Override
      public void save(StoredIdentity identity) {}

      @Override
      public boolean durable() {
        return true;
      }
    };
    try (FakeIssuer issuer = FakeIssuer.builder().bot("web").start();
        MachineIdentity id = issuer.identityBuilder().storage(exhausted).build()) {
      assertThatThrownBy(id::start)
          .isInstanceOf(OutOfMemoryError.class)
          .hasMessage("Java heap space");
      assertThat(issuer.calls("/v1/join"))
          .as("no join was attempted after the error")
          .isZero();
      assertThat(loads).hasValue(1);
    }
  }
}
