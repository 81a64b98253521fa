package dev.machineid.issuer.store;

import java.util.UUID;

/** The store contract on H2 in memory, the issuer's embedded default. */
class H2StoreContractTest extends IssuerStoreContract {
  @Override
  Database newDatabase() {
    return new Database(
        "jdbc:h2:mem:contract-" + UUID.randomUUID()
            + ";MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE;DEFAULT_NULL_ORDERING=HIGH;DB_CLOSE_DELAY=-1",
        null,
        null);
  }
}
