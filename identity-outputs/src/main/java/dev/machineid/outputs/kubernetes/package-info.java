/** Integration: kubernetes. */
package dev.machineid.outputs.kubernetes;
