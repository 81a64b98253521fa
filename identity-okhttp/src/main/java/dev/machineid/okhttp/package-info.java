/**
 * OkHttp with a machine identity: {@link dev.machineid.okhttp.OkHttpTls} wires an
 * {@code OkHttpClient.Builder} to a {@code MachineIdentity}, so every connection presents the newest
 * certificate and no connection made with an old one is reused after a rotation.
 */
package dev.machineid.okhttp;
