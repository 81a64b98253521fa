package dev.machineid.issuer.store;

import dev.machineid.testkit.PostgresServer;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The store contract on a real PostgreSQL server, started by the test: a new database per test. */
class PostgresStoreContractTest extends IssuerStoreContract {
  private static PostgresServer pg;
  private static final AtomicInteger databases = new AtomicInteger();

  @BeforeAll
  static void startPostgres() {
    pg = PostgresServer.builder().start();
  }

  @AfterAll
  static void stopPostgres() {
    if (pg != null) {
      pg.close();
    }
  }

  @Override
  Database newDatabase() {
    return new Database(
        pg.createDatabase("contract_" + databases.incrementAndGet()), pg.user(), null);
  }
}
