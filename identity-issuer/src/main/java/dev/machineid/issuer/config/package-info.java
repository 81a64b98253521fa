/** {@code issuer.yaml}: the configuration of {@code issuer serve}. */
package dev.machineid.issuer.config;
