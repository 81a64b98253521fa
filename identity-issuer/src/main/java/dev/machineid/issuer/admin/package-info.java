/** A Java client of the issuer's admin API ({@code /v1/admin/...}), used by the {@code issuer} CLI. */
package dev.machineid.issuer.admin;
