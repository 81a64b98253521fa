/**
 * The typed settings view every provider reads its configuration block through ({@link
 * dev.machineid.core.config.Settings}), and the YAML reading shared by the SDK and the agent ({@link
 * dev.machineid.core.config.ConfigFile}). A key no provider read or declared is refused with its full
 * path and the nearest valid key. See docs/configuration.md.
 */
package dev.machineid.core.config;
