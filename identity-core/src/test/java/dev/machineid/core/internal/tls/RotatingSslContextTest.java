package dev.machineid.core.internal.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.security.KeyManagementException;
import java.time.Clock;
import java.util.List;
import javax.net.ssl.SSLSessionContext;
import org.junit.jupiter.api.Test;

class RotatingSslContextTest {
  private final RotatingSslContext context = RotatingSslContext.create(
      new RotatingKeyManager(() -> null, Clock.systemUTC()), new BundleTrustManager(List::of));

  @Test
  void rotationStartsANewSessionCacheSoNoOldSessionCanBeResumed() {
    SSLSessionContext before = context.getClientSessionContext();
    context.rotate();
    assertThat(context.getClientSessionContext()).isNotSameAs(before);
  }

  @Test
  void socketFactoryIsStableAcrossRotations() {
    var factory = context.getSocketFactory();
    context.rotate();
    assertThat(context.getSocketFactory()).isSameAs(factory);
  }

  @Test
  void reinitialisingTheContextIsRefused() {
    assertThatThrownBy(() -> context.init(null, null, null))
        .isInstanceOf(KeyManagementException.class);
  }
}
