//! Type sniffing and inspection (limits, page counts, dimensions) of any bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    common::quiet_panics();
    let _ = medidocs_media::inspect(data, &common::LIMITS);
});
