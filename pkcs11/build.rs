//! Link options of libpqhsm_pkcs11.so. Owns only how the module is linked; it must never
//! generate code or read anything outside the build environment.
//!
//! The module is marked not unloadable (`-z nodelete`): AWS-LC registers a thread-exit
//! destructor (its per-thread error queue) with pthread_key_create, and the qrng service
//! runs its own threads. A client that dlclose()s the module while its threads live on
//! (cryptoki's Pkcs11 drop, p11-kit, Java) would otherwise have those threads jump into
//! unmapped code when they exit. With nodelete, dlclose() keeps the code mapped; a later
//! dlopen() finds the same instance and C_Initialize starts it afresh, as after
//! C_Finalize.

fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let family = std::env::var("CARGO_CFG_TARGET_FAMILY").unwrap_or_default();
    // ELF linkers (GNU ld, lld, gold); Mach-O has no equivalent flag and needs none here.
    if family == "unix" && !matches!(os.as_str(), "macos" | "ios" | "tvos" | "watchos") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-z,nodelete");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
