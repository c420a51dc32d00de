//! PDF pages rasterised with hayro.

use std::sync::Arc;

use image::metadata::Orientation;
use image::{DynamicImage, RgbImage};

use super::{DecodedPage, OCR_DPI};
use crate::{Limits, MediaError};

/// Upper bound for one rasterised PDF page, whatever its declared size.
const MAX_RASTER_PIXELS: f64 = 40_000_000.0;

pub(crate) fn open_pdf(bytes: &[u8]) -> Result<hayro::hayro_syntax::Pdf, MediaError> {
    use hayro::hayro_syntax::LoadPdfError;
    let error = |e| match e {
        LoadPdfError::Decryption(_) => MediaError::Encrypted,
        LoadPdfError::Invalid => {
            MediaError::Corrupt("PDF: the file structure cannot be read".into())
        }
    };
    match hayro::hayro_syntax::Pdf::new(Arc::new(bytes.to_vec())) {
        Ok(pdf) => Ok(pdf),
        Err(LoadPdfError::Decryption(e)) => match attachments_only_encryption(bytes) {
            // Only its attachments are encrypted (its strings and streams use the
            // Identity filter): its pages are plain, and read without the password, as
            // other readers do. The attachments are never read.
            Some(plain) => hayro::hayro_syntax::Pdf::new(Arc::new(plain)).map_err(error),
            None => Err(error(LoadPdfError::Decryption(e))),
        },
        Err(e) => Err(error(e)),
    }
}

/// A copy of a PDF whose encryption dictionary leaves strings and streams unencrypted
/// (`/StmF` and `/StrF` both `/Identity`, as when only embedded files are encrypted), with
/// its trailers' `/Encrypt` key renamed so the file reads as unencrypted; every byte stays
/// where it was, so the cross-reference offsets hold. `None` for any other encryption.
fn attachments_only_encryption(bytes: &[u8]) -> Option<Vec<u8>> {
    let find = |needle: &[u8], from: usize| {
        bytes
            .get(from..)?
            .windows(needle.len())
            .position(|w| w == needle)
            .map(|i| i + from)
    };
    // `/Encrypt` keys: followed by an inline dictionary or an indirect reference.
    let mut keys = Vec::new();
    let mut target = None;
    let mut at = 0;
    while let Some(i) = find(b"/Encrypt", at) {
        at = i + 1;
        let rest = &bytes[i + b"/Encrypt".len()..];
        let value = rest.trim_ascii_start();
        let here = if value.starts_with(b"<<") {
            Some(bytes.len() - value.len())
        } else {
            let text = String::from_utf8_lossy(&value[..value.len().min(32)]);
            let mut parts = text.split_ascii_whitespace();
            match (parts.next(), parts.next(), parts.next()) {
                (Some(n), Some(g), Some(r))
                    if n.bytes().all(|b| b.is_ascii_digit())
                        && g.bytes().all(|b| b.is_ascii_digit())
                        && r.starts_with('R') =>
                {
                    object_body(bytes, &format!("{n} {g} obj"))
                }
                _ => continue, // not a key with a value: some other text
            }
        };
        keys.push(i);
        target = target.or(here);
    }
    let dict = dictionary(bytes, target?)?;
    let value_of = |key: &str| {
        let i = dict.find(key)?;
        Some(dict[i + key.len()..].trim_start())
    };
    // Crypt filters (version 4 or 5): StmF and StrF are Identity when left out.
    let version_ok = matches!(value_of("/V").and_then(|v| v.get(..1)), Some("4" | "5"));
    let identity = |key: &str| value_of(key).is_none_or(|v| v.starts_with("/Identity"));
    if !version_ok || !identity("/StmF") || !identity("/StrF") {
        return None;
    }
    let mut plain = bytes.to_vec();
    for k in keys {
        plain[k + 1] = b'X'; // `/Xncrypt`: a key no reader looks for
    }
    Some(plain)
}

/// Where the body of the object `header` (`N G obj`) starts.
fn object_body(bytes: &[u8], header: &str) -> Option<usize> {
    let mut from = 0;
    loop {
        let i = bytes
            .get(from..)?
            .windows(header.len())
            .position(|w| w == header.as_bytes())?
            + from;
        // The object's own header, not the end of a longer number.
        if i == 0 || !bytes[i - 1].is_ascii_digit() {
            return Some(i + header.len());
        }
        from = i + 1;
    }
}

/// The text of the dictionary that starts at or after `at` (its outer `<<` … `>>`, nested
/// dictionaries included), if it is ASCII-readable.
fn dictionary(bytes: &[u8], at: usize) -> Option<&str> {
    let start = at + bytes.get(at..)?.windows(2).position(|w| w == b"<<")?;
    let mut depth = 0usize;
    let mut i = start;
    while i + 1 < bytes.len() {
        match &bytes[i..i + 2] {
            b"<<" => {
                depth += 1;
                i += 2;
            }
            b">>" => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return std::str::from_utf8(&bytes[start..i]).ok();
                }
            }
            _ => i += 1,
        }
    }
    None
}

/// Draws page `index` at 300 dpi, or, with `longest`, at most that many pixels a side.
pub(super) fn render_pdf_page(
    bytes: &[u8],
    index: u32,
    _limits: &Limits,
    longest: Option<u32>,
) -> Result<DecodedPage, MediaError> {
    let pdf = open_pdf(bytes)?;
    let pages = pdf.pages();
    let page = pages
        .get(index as usize)
        .ok_or_else(|| MediaError::Corrupt(format!("PDF: page {} does not exist", index + 1)))?;
    let (w_pt, h_pt) = page.render_dimensions();
    if !(w_pt.is_finite() && h_pt.is_finite()) || w_pt < 1.0 || h_pt < 1.0 {
        return Err(MediaError::Corrupt(format!(
            "PDF: page {} has no size",
            index + 1
        )));
    }
    // 300 dpi, reduced for oversized pages so one page never exceeds the raster budget
    // (and the renderer's 16-bit canvas).
    let mut scale = OCR_DPI / 72.0;
    let px = (w_pt * scale) as f64 * (h_pt * scale) as f64;
    if px > MAX_RASTER_PIXELS {
        scale *= (MAX_RASTER_PIXELS / px).sqrt() as f32;
    }
    let drawn = w_pt.max(h_pt) * scale;
    if drawn > 16_000.0 {
        scale *= 16_000.0 / drawn;
    }
    if let Some(longest) = longest {
        // Half a pixel over, as the renderer cuts its size down to whole pixels.
        scale = scale.min((longest as f32 + 0.5) / w_pt.max(h_pt));
    }
    let cache = hayro::RenderCache::new();
    let pixmap = hayro::render(
        page,
        &cache,
        &hayro::hayro_interpret::InterpreterSettings::default(),
        &hayro::RenderSettings::default(),
        &hayro::PixmapSettings {
            x_scale: scale,
            y_scale: scale,
            bg_color: hayro::vello_cpu::color::palette::css::WHITE,
        },
    );
    let (w, h) = (pixmap.width() as u32, pixmap.height() as u32);
    if w == 0 || h == 0 {
        return Err(MediaError::Corrupt(format!(
            "PDF: page {} rendered empty",
            index + 1
        )));
    }
    // Opaque white background: premultiplied equals straight RGB, packed in place.
    let rgba = pixmap.take_rgba8(hayro::vello_cpu::peniko::ImageAlphaType::AlphaPremultiplied);
    let image = DynamicImage::ImageRgb8(
        RgbImage::from_raw(w, h, crate::rendition::rgba_to_rgb_in_place(rgba, false))
            .ok_or_else(|| MediaError::Corrupt("PDF raster".into()))?,
    );
    Ok(DecodedPage {
        image,
        dpi: Some(72.0 * scale),
        orientation: Orientation::NoTransforms,
    })
}
