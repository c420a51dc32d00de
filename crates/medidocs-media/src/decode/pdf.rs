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
    hayro::hayro_syntax::Pdf::new(Arc::new(bytes.to_vec())).map_err(|e| match e {
        LoadPdfError::Decryption(_) => MediaError::Encrypted,
        LoadPdfError::Invalid => {
            MediaError::Corrupt("PDF: the file structure cannot be read".into())
        }
    })
}

pub(super) fn render_pdf_page(
    bytes: &[u8],
    index: u32,
    _limits: &Limits,
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
    let longest = w_pt.max(h_pt) * scale;
    if longest > 16_000.0 {
        scale *= 16_000.0 / longest;
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
