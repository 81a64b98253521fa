/** Where the bot keeps its own identity: {@code memory} (default) or {@code directory}. */
package dev.machineid.core.storage;
