//! Shared by the fuzz targets.

use medidocs_media::Limits;

/// Small limits keep each run fast; the checks are the same as production's.
#[allow(dead_code)] // not every target decodes
pub const LIMITS: Limits = Limits {
    max_bytes: 4 << 20,
    max_pixels: 4_000_000,
    max_pages: 8,
};

/// Panics inside a decoder are caught by `medidocs_media::guard` and become `corrupt`, as
/// in production, so the fuzzer must not abort on them (libfuzzer-sys's panic hook would).
/// A panic that escapes the guard still reaches libFuzzer as a crash: its harness aborts
/// on any panic that unwinds out of the target.
pub fn quiet_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| std::panic::set_hook(Box::new(|_| {})));
}
