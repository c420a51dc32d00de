//! Media handling for the document pipeline: everything that turns untrusted bytes into
//! pixels, text-layer words and web renditions. Pure computation: bytes in, bytes out, no
//! file or network IO, so the same code runs in a Lambda and on one machine.
//!
//! Every entry point is defensive: limits are checked from headers before any pixel buffer
//! is allocated, decoders run under [`guard`] so a panic inside a third-party decoder
//! becomes a [`MediaError::Corrupt`] instead of taking the process down.

mod bidi;
mod decode;
mod error;
mod inspect;
mod pdftext;
mod pdfwrite;
mod probe;
mod rendition;
mod sniff;

pub use bidi::{is_right_to_left, is_rtl_char, visual_to_logical};
pub use decode::{
    DecodedPage, PartialFile, TiffPageReads, decode_page, decode_pdf_page_to_view,
    decode_tiff_page_at, tiff_page_needs,
};
pub use error::MediaError;
pub use inspect::{Inspection, inspect};
pub use pdftext::{TextLayerLine, TextLayerPage, TextLayerWord, pdf_text_layer};
pub use pdfwrite::{PRODUCER, PdfInfo, PdfPage, PdfWord, jpeg_frame, page_jpeg, searchable_pdf};
pub use probe::text_probes;
pub use rendition::{
    EncodedRendition, GreyPixels, OcrImageLimits, RenditionKind, grey_pixels, render_renditions,
    render_view_renditions, rotate_grey, rotate_png, shrink_png_to_fit,
};
pub use sniff::{Mime, sniff};

/// Decode and size limits. Every document is checked against these before its pixels are
/// decoded; the defaults suit a medical-records service and can be changed per run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Limits {
    /// Largest accepted file, in bytes.
    pub max_bytes: u64,
    /// Largest accepted page or image, in pixels (width × height).
    pub max_pixels: u64,
    /// Most pages accepted in one PDF or TIFF.
    pub max_pages: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bytes: 50 * 1024 * 1024,
            max_pixels: 100_000_000,
            max_pages: 500,
        }
    }
}

/// Runs a decoder and turns a panic inside it into [`MediaError::Corrupt`]. Third-party
/// decoders are fuzzed but not proven; a malformed upload must never take the process down.
pub fn guard<T>(what: &str, f: impl FnOnce() -> Result<T, MediaError>) -> Result<T, MediaError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(_) => Err(MediaError::Corrupt(format!(
            "the {what} decoder failed on malformed data"
        ))),
    }
}
