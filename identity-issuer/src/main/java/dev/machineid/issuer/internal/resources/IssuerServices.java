package dev.machineid.issuer.internal.resources;

import dev.machineid.issuer.Admins;
import dev.machineid.issuer.Audit;
import dev.machineid.issuer.Bots;
import dev.machineid.issuer.Instances;
import dev.machineid.issuer.Locks;
import dev.machineid.issuer.Roles;
import dev.machineid.issuer.Signing;
import dev.machineid.issuer.Tokens;
import java.util.Objects;

/**
 * The issuer's resource services, built once with the issuer: what its Java API returns and what
 * the admin HTTP API calls, so that both go through the same code.
 */
public record IssuerServices(
    Bots bots,
    Roles roles,
    Tokens tokens,
    Instances instances,
    Locks locks,
    Audit audit,
    Signing signing,
    Admins admins) {
  public IssuerServices {
    Objects.requireNonNull(bots, "bots");
    Objects.requireNonNull(roles, "roles");
    Objects.requireNonNull(tokens, "tokens");
    Objects.requireNonNull(instances, "instances");
    Objects.requireNonNull(locks, "locks");
    Objects.requireNonNull(audit, "audit");
    Objects.requireNonNull(signing, "signing");
    Objects.requireNonNull(admins, "admins");
  }
}
