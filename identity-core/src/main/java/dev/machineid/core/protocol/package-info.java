/**
 * The wire model of protocol v1: request and response bodies, error codes, PEM and duration forms.
 * Shared by the SDK and the issuer so both speak exactly the same JSON.
 */
package dev.machineid.core.protocol;
