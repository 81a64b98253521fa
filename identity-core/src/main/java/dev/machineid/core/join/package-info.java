/**
 * The client side of join methods: the {@link dev.machineid.core.join.JoinMethod} SPI, its
 * {@link java.util.ServiceLoader} service, and the built-in {@code token} method.
 */
package dev.machineid.core.join;
