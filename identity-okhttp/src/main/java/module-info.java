/** OkHttp with a machine identity: hot-rotating client certificates and pool eviction on rotation. */
// OkHttp and Okio ship automatic modules only (Automatic-Module-Name); requiring them, and passing
// OkHttp's types of this module's API on to its users, is deliberate.
@SuppressWarnings({"requires-automatic", "requires-transitive-automatic"})
module dev.machineid.okhttp {
  requires transitive dev.machineid.core;
  requires transitive okhttp3;
  requires okio;
  // OkHttp and Okio are automatic modules that need the Kotlin standard library, a named module
  // that
  // nothing else requires: without this, an application on the module path fails with
  // NoClassDefFoundError: kotlin/jvm/internal/Intrinsics unless it adds --add-modules
  // kotlin.stdlib.
  requires kotlin.stdlib;

  exports dev.machineid.okhttp;
}
