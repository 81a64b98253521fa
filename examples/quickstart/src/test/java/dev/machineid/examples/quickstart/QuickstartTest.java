package dev.machineid.examples.quickstart;

import static org.assertj.core.api.Assertions.assertThat;

import dev.machineid.core.Identity;
import dev.machineid.core.IdentityListener;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * The quickstart's last line says every call presented the newest certificate. It checks each
 * call's answer against the identity it just printed and fails otherwise; here it runs many
 * renewals, with the renewal thread held inside an application listener until the quickstart's call
 * for that renewal is answered: the call then runs after the application heard of the renewal and
 * before anything later on the renewal thread, so the SDK's own consumers (the OkHttp helper's pool
 * eviction) must have acted before listeners were told.
 */
class QuickstartTest {
  private static final int RENEWALS = 12;

  @Test
  void everyCallAfterARenewalPresentsTheNewestCertificate() throws Exception {
    Semaphore answers = new Semaphore(0);
    List<String> problems = new CopyOnWriteArrayList<>();
    PrintStream out = new PrintStream(
        new Lines(line -> {
          if (line.contains("API answered")) {
            answers.release();
          }
        }),
        true,
        StandardCharsets.UTF_8);
    IdentityListener holdsTheRenewalThread = new IdentityListener() {
      private int renewals;

      @Override
      public void onRenewed(Identity previous, Identity current) {
        renewals++;
        // the join's call and this renewal's call the first time, this renewal's call afterwards
        int calls = renewals == 1 ? 2 : 1;
        try {
          if (!answers.tryAcquire(calls, 30, TimeUnit.SECONDS)) {
            problems.add("no call answered after renewal " + renewals);
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    };

    List<String> served =
        Quickstart.run(out, Duration.ofSeconds(3), RENEWALS, List.of(holdsTheRenewalThread));

    assertThat(problems).isEmpty();
    assertThat(served).hasSize(RENEWALS + 1).doesNotHaveDuplicates();
  }

  /** Hands each printed line to a consumer. */
  private static final class Lines extends OutputStream {
    private final ByteArrayOutputStream line = new ByteArrayOutputStream();
    private final Consumer<String> consumer;

    Lines(Consumer<String> consumer) {
      this.consumer = consumer;
    }

    @Override
    public synchronized void write(int b) {
      if (b == '\n') {
        consumer.accept(line.toString(StandardCharsets.UTF_8));
        line.reset();
      } else {
        line.write(b);
      }
    }
  }
}
