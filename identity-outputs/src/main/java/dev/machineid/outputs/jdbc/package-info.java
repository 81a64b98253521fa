/** Integration: jdbc. */
package dev.machineid.outputs.jdbc;
