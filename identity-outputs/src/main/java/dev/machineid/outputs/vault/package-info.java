/** Integration: vault. */
package dev.machineid.outputs.vault;
