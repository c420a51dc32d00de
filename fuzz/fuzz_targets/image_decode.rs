//! The image path: inspection, then decoding every page (at most two) to 8-bit pixels and
//! making its renditions, as the render step does.
#![no_main]
use libfuzzer_sys::fuzz_target;
use medidocs_media::{Mime, decode_page, inspect, render_renditions};

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    common::quiet_panics();
    let Ok(info) = inspect(data, &common::LIMITS) else {
        return;
    };
    if info.mime == Mime::Pdf {
        return;
    }
    for page in 0..info.pages.min(2) {
        if let Ok(decoded) = decode_page(data, info.mime, page, &common::LIMITS) {
            let _ = render_renditions(decoded);
        }
    }
});
