//! The image path: inspection, then decoding every page (at most two) to 8-bit pixels and
//! making its renditions, as the render step does; a TIFF page also from the parts of the
//! file the planner asks for, as the render step reads a page of a multi-page TIFF; and
//! the probes of the page's OCR image that decide its language before it is read.
#![no_main]
use libfuzzer_sys::fuzz_target;
use medidocs_media::{
    Mime, RenditionKind, TiffPageReads, decode_page, decode_tiff_page_at, grey_pixels, inspect,
    render_renditions, text_probes,
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
            let Ok(renditions) = render_renditions(decoded) else {
                continue;
            };
            let ocr = renditions.iter().find(|r| r.kind == RenditionKind::Ocr);
            if let Some(Ok(grey)) = ocr.map(|r| grey_pixels(&r.bytes, common::LIMITS.max_pixels)) {
                let _ = text_probes(&grey, 40, 3);
            }
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
