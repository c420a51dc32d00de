//! The PDF path: inspection, the text layer, and rasterising the first page.
#![no_main]
use libfuzzer_sys::fuzz_target;
use medidocs_media::{Mime, decode_page, inspect, pdf_text_layer};

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    common::quiet_panics();
    let Ok(info) = inspect(data, &common::LIMITS) else {
        return;
    };
    if info.mime != Mime::Pdf {
        return;
    }
    let _ = pdf_text_layer(data, 0);
    let _ = decode_page(data, info.mime, 0, &common::LIMITS);
});
