/** Hot-rotating TLS for HTTP clients: the OkHttp helper. */
package dev.machineid.core.tls;
