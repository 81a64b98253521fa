package dev.machineid.it.store;

import dev.machineid.issuer.Issuer;
import dev.machineid.issuer.IssuerStore;
import java.nio.file.Path;

/**
 * An issuer in its own process, for tests that kill it: {@code IssuerMain PORT JDBC-URL KEYS-DIR}.
 * Prints {@code READY} once it serves, then runs until killed.
 */
public final class IssuerMain {
  private IssuerMain() {}

  public static void main(String[] args) throws InterruptedException {
    IssuerStore store = IssuerStore.jdbc(args[1], "postgres", null);
    Issuer issuer = Issuer.builder()
        .listen("127.0.0.1", Integer.parseInt(args[0]))
        .keysDirectory(Path.of(args[2]))
        .store(store)
        .build()
        .start();
    System.out.println("READY " + issuer.url());
    System.out.flush();
    Thread.currentThread().join();
  }
}
