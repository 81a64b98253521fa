/**
 * The one HTTP server stack of the testkit's simulated services: {@link dev.machineid.testkit.http.SimulatorServer},
 * HTTP or HTTPS on {@code 127.0.0.1} over the JDK's {@code com.sun.net.httpserver}, with client certificates,
 * routes, a request log and a fault override.
 */
package dev.machineid.testkit.http;
