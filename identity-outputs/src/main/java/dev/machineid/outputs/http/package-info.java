/** Integration: http. */
package dev.machineid.outputs.http;
