package dev.machineid.outputs.jdbc;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Properties;
import org.junit.jupiter.api.Test;

class PgSslSocketFactoryTest {

  @Test
  void withoutTheCredentialPropertyTheConstructorSaysWhichPropertyToSet() {
    assertThatThrownBy(() -> new PgSslSocketFactory(new Properties()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("machineidCredential");
  }

  @Test
  void aCredentialNameWithNoOpenHandleFailsNamingThatName() {
    Properties info = new Properties();
    info.setProperty(PgSslSocketFactory.PROPERTY, "no-such-orders-db");

    assertThatThrownBy(() -> new PgSslSocketFactory(info))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("'no-such-orders-db'");
  }
}
