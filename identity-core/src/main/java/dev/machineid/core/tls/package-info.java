/**
 * Building blocks for hot-rotating TLS in socket-based clients. The OkHttp helper lives in the
 * {@code identity-okhttp} module ({@code dev.machineid.okhttp.OkHttpTls}).
 */
package dev.machineid.core.tls;
