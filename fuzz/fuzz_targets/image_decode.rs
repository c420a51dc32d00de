//! The image path: inspection, then decoding every page (at most two) to 8-bit pixels and
//! making its renditions, as the render step does; a TIFF page also from the parts of the
//! file the planner asks for, as the render step reads a page of a multi-page TIFF.
#![no_main]
use libfuzzer_sys::fuzz_target;
use medidocs_media::{
    Mime, TiffPageReads, decode_page, decode_tiff_page_at, inspect, render_renditions,
};

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
    for (i, &at) in info.directories.iter().take(2).enumerate() {
        let mut reads = TiffPageReads::new(at, common::LIMITS);
        while let Some(ranges) = reads.next() {
            for r in ranges {
                let end = r.end.min(data.len() as u64) as usize;
                let start = (r.start as usize).min(end);
                reads.insert(r.start, data[start..end].to_vec());
            }
        }
        if let Some(parts) = reads.finish() {
            let _ = decode_tiff_page_at(&parts, at, i as u32 + 1, &common::LIMITS);
        }
    }
});
