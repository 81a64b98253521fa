/**
 * Storage of the issuer's state on JDBC: {@link dev.machineid.issuer.store.JdbcStore} for H2 (the
 * embedded default) and PostgreSQL (shared by several issuer replicas), with Flyway migrations and
 * a hash-chained audit log. See {@code docs/issuer-storage.md}.
 */
package dev.machineid.issuer.store;
